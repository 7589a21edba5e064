package ai.djl.nupes.zoo;

import ai.djl.ndarray.NDList;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.repository.zoo.ZooModel;

import com.google.gson.GsonBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes {@code zoo-configs/}: for every test model a {@code metadata.json} in DJL's local
 * repository layout ({@code model/cv/image_classification/ai/djl/nupes/<id>/}) with three
 * artifacts — the float model (files referenced in {@code test-models/}, not copied) and frozen
 * NUPES models at W4 and W3 (written under {@code <id>/0.1.0/w<bits>/}).
 */
public final class ZooWriter {

    private ZooWriter() {}

    /**
     * Writes the zoo.
     *
     * @param zoo the zoo directory
     * @param models the models
     * @param bits the frozen bit widths
     * @throws IOException on failure
     */
    public static void write(Path zoo, List<TestModel> models, int[] bits) throws IOException {
        for (TestModel m : models) {
            Path dir = zoo.resolve("model/cv/image_classification/ai/djl/nupes").resolve(m.id());
            Files.createDirectories(dir);
            List<Map<String, Object>> artifacts = new ArrayList<>();
            Path floatDir = m.directory();
            artifacts.add(artifact(m.id(), "32", dir, floatDir, "float model"));
            for (int b : bits) {
                Path frozen = dir.resolve(NupesModelZoo.VERSION).resolve("w" + b);
                try (ZooModel<NDList, NDList> model = TestModels.load(m);
                        NDManager manager = model.getNDManager().newSubManager()) {
                    FashionMnistIdx test =
                            FashionMnistIdx.prepared(
                                    manager,
                                    FashionMnistIdx.BUNDLED_DIRECTORY,
                                    FashionMnistIdx.Split.TEST,
                                    Evaluation.BATCH_SIZE);
                    double floatAccuracy = Evaluation.accuracy(model.getBlock(), test, manager);
                    QuantizedModel q =
                            Nupes.quantize(
                                    model,
                                    NupesConfig.builder().setBits(b).optMethod(Method.NUPES)
                                            .optCalibrationData(FashionMnistIdx.bundledCalibration()).build());
                    double accuracy = Evaluation.accuracy(model.getBlock(), test, manager);
                    FrozenExporter.export(
                            q,
                            frozen,
                            ExportOptions.builder()
                                    .optOverwrite(true)
                                    .optAccuracy(floatAccuracy, accuracy, test.size())
                                    .build());
                }
                artifacts.add(artifact(m.id() + "-w" + b, String.valueOf(b), dir, frozen, "frozen NUPES W" + b));
            }
            Map<String, Object> metadata = new LinkedHashMap<>();
            metadata.put("metadataVersion", "0.2");
            metadata.put("resourceType", "model");
            metadata.put("application", "cv/image_classification");
            metadata.put("groupId", NupesModelZoo.GROUP_ID);
            metadata.put("artifactId", m.id());
            metadata.put("name", m.id());
            metadata.put("description", "Fashion-MNIST " + m.id() + ", float and NUPES-quantized");
            metadata.put("licenses", Map.of("license", Map.of("name", "The Apache License, Version 2.0",
                    "url", "https://www.apache.org/licenses/LICENSE-2.0")));
            metadata.put("artifacts", artifacts);
            Files.writeString(
                    dir.resolve("metadata.json"),
                    new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(metadata) + '\n',
                    StandardCharsets.UTF_8);
        }
    }

    private static Map<String, Object> artifact(
            String name, String bits, Path metadataDir, Path files, String description) throws IOException {
        Map<String, Object> items = new LinkedHashMap<>();
        List<Path> list;
        try (Stream<Path> s = Files.list(files)) {
            list = s.filter(p -> !p.getFileName().toString().equals("provenance.json")).sorted().toList();
        }
        for (Path f : list) {
            String file = f.getFileName().toString();
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("uri", metadataDir.toAbsolutePath().relativize(f.toAbsolutePath()).toString().replace('\\', '/'));
            item.put("name", file);
            item.put("sha1Hash", sha1(f));
            item.put("size", Files.size(f));
            items.put(file.replace('.', '_'), item);
        }
        Map<String, Object> artifact = new LinkedHashMap<>();
        artifact.put("version", NupesModelZoo.VERSION);
        artifact.put("snapshot", false);
        artifact.put("name", name);
        artifact.put("properties", Map.of("bits", bits));
        artifact.put("arguments", Map.of("description", description));
        artifact.put("files", items);
        return artifact;
    }

    private static String sha1(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-1"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
