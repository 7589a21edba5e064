package ai.djl.nupes;

import ai.djl.ndarray.NDList;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.format.Checksums;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.repository.zoo.ZooModel;

import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Quantizes a test model at the default settings (seed 0, calibrated on the bundled subset),
 * exports it frozen and prints the SHA-256 of its parameter file: run in two JVMs, the two lines
 * must be equal.
 */
public final class DeterministicExport {

    private DeterministicExport() {}

    /**
     * Quantizes, exports and hashes.
     *
     * @param testModel the model
     * @param method the method
     * @param dir the export directory (must not exist)
     * @return the SHA-256 of the exported parameter file
     * @throws Exception when quantizing or exporting fails
     */
    public static String run(TestModel testModel, Method method, Path dir) throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(testModel)) {
            NupesConfig config =
                    NupesConfig.builder()
                            .optMethod(method)
                            .optCalibrationData(FashionMnistIdx.bundledCalibration())
                            .build();
            Manifest manifest =
                    FrozenExporter.export(
                            Nupes.quantize(model, config),
                            dir,
                            ExportOptions.builder().optModelName(testModel.id()).build());
            return Checksums.sha256(dir.resolve(manifest.paramsFile()));
        }
    }

    /**
     * Entry point: {@code <model> <method> <export dir>}; prints the parameter file's SHA-256.
     *
     * @param args the arguments
     * @throws Exception when quantizing or exporting fails
     */
    public static void main(String[] args) throws Exception {
        String sha = run(TestModel.of(args[0]), Method.of(args[1]), Paths.get(args[2]));
        System.out.println("sha256 " + sha);
        System.exit(0);
    }
}
