package ai.djl.nupes.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.nupes.Fixtures;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.format.Checksums;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.nn.Parameter;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.util.Pair;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Export never destroys what the user had; loading refuses every tensor that is not as written. */
class ExportSafetyTest {

    private static final NupesConfig UNIFORM_W4 = NupesConfig.builder().setBits(4).optMethod(Method.UNIFORM).build();

    private static void export(ZooModel<NDList, NDList> model, Path dir, boolean overwrite) throws IOException {
        QuantizedModel q = Nupes.quantize(model, UNIFORM_W4);
        try {
            FrozenExporter.export(q, dir, ExportOptions.builder().optOverwrite(overwrite).build());
        } finally {
            q.restoreFloat();
        }
    }

    private static Path exported(TestModel testModel, Path dir) throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(testModel)) {
            export(model, dir, false);
        }
        return dir;
    }

    /** Every file under a directory with its SHA-256. */
    private static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), Checksums.sha256(p));
            }
        }
        return out;
    }


    @Test
    void overwriteRefusesADirectoryWithUnrelatedFilesAndLeavesItIntact(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(dir.resolve("notes.txt"), "keep me");
        Map<String, String> before = snapshot(dir);
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP)) {
            IOException e = assertThrows(IOException.class, () -> export(model, dir, true));
            assertTrue(e.getMessage().contains("not a frozen model directory"), e.getMessage());
        }
        assertEquals(before, snapshot(dir));
        try (Stream<Path> siblings = Files.list(tmp)) {
            assertEquals(1, siblings.count(), "no temporary directory left behind");
        }
    }

    @Test
    void overwriteRefusesARegularFile(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("model"), "a file, not a directory");
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP)) {
            IOException e = assertThrows(IOException.class, () -> export(model, file, true));
            assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
        }
        assertEquals("a file, not a directory", Files.readString(file));
    }

    @Test
    void overwriteRefusesTheSourceModelsOwnDirectory(@TempDir Path tmp) throws Exception {
        Path source = Files.createDirectories(tmp.resolve("mlp"));
        try (Stream<Path> files = Files.list(TestModel.MLP.directory())) {
            for (Path f : files.toList()) {
                Files.copy(f, source.resolve(f.getFileName()));
            }
        }
        Map<String, String> before = snapshot(source);
        try (ZooModel<NDList, NDList> model =
                Criteria.builder().setTypes(NDList.class, NDList.class).optModelPath(source).build().loadModel()) {
            for (Path target : List.of(source, tmp)) {
                IOException e = assertThrows(IOException.class, () -> export(model, target, true));
                assertTrue(e.getMessage().contains("loaded from"), e.getMessage());
            }
        }
        assertEquals(before, snapshot(source));
    }

    @Test
    void overwriteRefusesAFrozenDirectoryHoldingOtherFilesAndReplacesACleanOne(@TempDir Path tmp) throws Exception {
        Path dir = exported(TestModel.MLP, tmp.resolve("frozen"));
        Files.writeString(dir.resolve("README.txt"), "my notes");
        Map<String, String> before = snapshot(dir);
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.MLP)) {
            IOException e = assertThrows(IOException.class, () -> export(model, dir, true));
            assertTrue(e.getMessage().contains("[README.txt]"), e.getMessage());
            assertEquals(before, snapshot(dir));
            Files.delete(dir.resolve("README.txt"));
            export(model, dir, true);
        }
        assertEquals(List.of("frozen-0000.params", "manifest.json", "serving.properties"),
                List.copyOf(snapshot(dir).keySet()));
        try (Stream<Path> siblings = Files.list(tmp)) {
            assertEquals(1, siblings.count(), "the replaced directory is gone");
        }
    }

    @Test
    void aFlippedByteInAFloatBatchNormTensorIsRefusedNamingIt(@TempDir Path tmp) throws Exception {
        Path dir = exported(TestModel.RESNET, tmp.resolve("resnet"));
        Path params = dir.resolve("resnet-0000.params");
        String gamma = null;
        float[] values = null;
        try (ZooModel<NDList, NDList> frozen = FrozenExportTest.load(dir)) {
            for (Pair<String, Parameter> p : frozen.getBlock().getParameters()) {
                if (p.getKey().contains("BatchNorm") && p.getKey().endsWith("gamma")) {
                    gamma = p.getKey();
                    values = p.getValue().getArray().toFloatArray();
                    break;
                }
            }
        }
        assertTrue(gamma != null, "the ResNet has a BatchNorm gamma");
        byte[] bytes = Files.readAllBytes(params);
        int at = -1;
        for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
            ByteBuffer pattern = ByteBuffer.allocate(12).order(order);
            pattern.putFloat(values[0]).putFloat(values[1]).putFloat(values[2]);
            at = Fixtures.indexOf(bytes, pattern.array());
            if (at >= 0) {
                break;
            }
        }
        assertTrue(at >= 0, "gamma found in the file");
        bytes[at + 1] ^= 0x40;
        Files.write(params, bytes);
        Exception e = assertThrows(Exception.class, () -> FrozenExportTest.load(dir).close());
        String message = Fixtures.messages(e);
        assertTrue(message.contains("resnet-0000.params") && message.contains("checksum mismatch")
                && message.contains("'" + gamma + "'"), message);
    }

    @Test
    void anUnknownDecodeValueIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = exported(TestModel.MLP, tmp.resolve("mlp"));
        Exception e = assertThrows(Exception.class, () -> Criteria.builder().setTypes(NDList.class, NDList.class)
                .optModelPath(dir).optArgument("decode", "lazy").build().loadModel().close());
        String message = Fixtures.messages(e);
        assertTrue(message.contains("decode=lazy") && message.contains("each-forward"), message);
    }

    @Test
    void aManifestExponentThatDisagreesWithTheStoredTensorIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = exported(TestModel.MLP, tmp.resolve("mlp"));
        Path file = dir.resolve(Manifest.FILE);
        JsonObject manifest = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        JsonObject first = manifest.getAsJsonArray("layers").get(0).getAsJsonObject();
        first.getAsJsonArray("exponents").set(0, new com.google.gson.JsonPrimitive(0.5f));
        Files.writeString(file, manifest.toString(), StandardCharsets.UTF_8);
        Exception e = assertThrows(Exception.class, () -> FrozenExportTest.load(dir).close());
        String message = Fixtures.messages(e);
        assertTrue(message.contains("'exponents'") && message.contains("differ from the manifest")
                && message.contains(first.get("path").getAsString()), message);
    }

}
