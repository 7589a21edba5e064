package ai.djl.nupes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The library jar is only the library: its sources import nothing from the repository's scaffolding,
 * carry no logging configuration or backend, never name the repository's directories, and its
 * packages depend on each other in one direction.
 */
class LibraryArchitectureTest {

    private static final Path MAIN = Paths.get("src/main");
    private static final Set<String> SCAFFOLDING = Set.of("data", "models", "bench", "cli", "zoo", "text");
    private static final Pattern IMPORT = Pattern.compile("^import (static )?([\\w.]+)", Pattern.MULTILINE);
    /** Packages a library package must not import: the stages after it. */
    private static final Map<String, Set<String>> FORBIDDEN =
            Map.of(
                    "autograd", Set.of("quantizer", "format", "nn", "transform", "calibrate", "export", "integer"),
                    "quantizer", Set.of("format", "nn", "transform", "calibrate", "export", "integer", "gptq"),
                    "gptq", Set.of("format", "nn", "transform", "calibrate", "export", "integer", "imports"),
                    "format", Set.of("nn", "transform", "calibrate", "export", "integer"),
                    "integer", Set.of("nn", "transform", "calibrate", "export"),
                    "nn", Set.of("transform", "calibrate", "export", "integer"),
                    "transform", Set.of("calibrate", "export", "integer"),
                    "imports", Set.of("nn", "transform", "calibrate", "export", "integer", "format"));

    private static List<Path> sources() throws IOException {
        try (Stream<Path> walk = Files.walk(MAIN.resolve("java"))) {
            return walk.filter(p -> p.toString().endsWith(".java")).toList();
        }
    }

    private static String packageOf(Path source) {
        Path rel = MAIN.resolve("java/ai/djl/nupes").relativize(source.getParent());
        return rel.toString().isEmpty() ? "" : rel.getName(0).toString();
    }

    @Test
    void noLibraryClassImportsTheScaffoldingOrALoggingBackend() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Path source : sources()) {
            String text = Files.readString(source);
            Matcher m = IMPORT.matcher(text);
            while (m.find()) {
                String imported = m.group(2);
                String[] parts = imported.split("\\.");
                if (imported.startsWith("ai.djl.nupes.") && parts.length > 3 && SCAFFOLDING.contains(parts[3])) {
                    problems.add(source + " imports the scaffolding: " + imported);
                }
                if (imported.startsWith("org.apache.logging") || imported.startsWith("ch.qos.logback")) {
                    problems.add(source + " imports a logging backend: " + imported);
                }
                if (imported.startsWith("ai.djl.pytorch") || imported.startsWith("ai.djl.onnxruntime")) {
                    problems.add(source + " imports an engine: " + imported);
                }
            }
            if (text.contains("\"test-models") || text.contains("\"zoo-configs")) {
                problems.add(source + " names a repository directory");
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void libraryPackagesDependOnEachOtherInOneDirection() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Path source : sources()) {
            String own = packageOf(source);
            Set<String> forbidden = FORBIDDEN.getOrDefault(own, Set.of());
            Matcher m = IMPORT.matcher(Files.readString(source));
            while (m.find()) {
                String[] parts = m.group(2).split("\\.");
                if (m.group(2).startsWith("ai.djl.nupes.") && parts.length > 4 && forbidden.contains(parts[3])) {
                    problems.add(source + " (" + own + ") imports " + m.group(2));
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void theJarCarriesNoLoggingConfigurationAndNoServiceRegistrations() throws IOException {
        Path resources = MAIN.resolve("resources");
        List<String> found = new ArrayList<>();
        if (Files.isDirectory(resources)) {
            try (Stream<Path> walk = Files.walk(resources)) {
                walk.filter(Files::isRegularFile).forEach(p -> found.add(resources.relativize(p).toString()));
            }
        }
        assertTrue(found.stream().noneMatch(f -> f.contains("log4j") || f.contains("logback") || f.contains("services")),
                found.toString());
    }
}
