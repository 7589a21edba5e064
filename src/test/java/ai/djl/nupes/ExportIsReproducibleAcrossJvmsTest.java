package ai.djl.nupes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.nupes.models.TestModel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Same seed, same thread count: a NUPES export at the default settings is byte-identical in this
 * JVM (after everything the other tests did to its heap) and in a freshly started one.
 */
class ExportIsReproducibleAcrossJvmsTest {

    @Test
    void aNupesExportIsByteIdenticalInASecondJvm(@TempDir Path tmp) throws Exception {
        String here = DeterministicExport.run(TestModel.MLP, Method.NUPES, tmp.resolve("here"));
        Path log = tmp.resolve("fork.log");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx2g");
        for (String key : new String[] {"ai.djl.offline", "ai.djl.default_engine", "OPT_OUT_TRACKING",
                "DJL_CACHE_DIR", "ENGINE_CACHE_DIR", "disableProgressBar"}) {
            String value = System.getProperty(key);
            if (value != null) {
                command.add("-D" + key + '=' + value);
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(DeterministicExport.class.getName());
        command.addAll(List.of("mlp", "nupes", tmp.resolve("there").toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "the second JVM did not finish");
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), output);
        String there = output.lines().filter(l -> l.startsWith("sha256 ")).findFirst().orElse("none: " + output);
        assertEquals("sha256 " + here, there, "the frozen parameter files differ between the two JVMs");
        assertTrue(new File(tmp.resolve("there").toString()).isDirectory());
    }
}
