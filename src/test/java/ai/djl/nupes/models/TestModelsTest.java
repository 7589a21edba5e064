package ai.djl.nupes.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.Fixtures;
import ai.djl.nupes.format.Checksums;
import ai.djl.repository.zoo.ZooModel;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

class TestModelsTest {

    @ParameterizedTest
    @EnumSource(value = TestModel.class, mode = EnumSource.Mode.EXCLUDE, names = "LM")
    void eachTestModelLoadsThroughCriteriaAndReproducesItsRecordedAccuracy(TestModel testModel) throws Exception {
        JsonObject provenance =
                JsonParser.parseString(
                                Files.readString(testModel.directory().resolve("provenance.json"), StandardCharsets.UTF_8))
                        .getAsJsonObject();
        assertEquals(
                provenance.get("params_sha256").getAsString(),
                Checksums.sha256(testModel.directory().resolve(provenance.get("params_file").getAsString())));
        try (ZooModel<NDList, NDList> model = TestModels.load(testModel);
                NDManager manager = model.getNDManager().newSubManager()) {
            double accuracy = Evaluation.accuracy(model.getBlock(), Fixtures.bundledTestSet(manager), manager);
            assertEquals(provenance.get("float_accuracy_bundled_subset").getAsDouble(), accuracy, 5e-5);
        }
        assertEquals(10_000, provenance.get("float_accuracy_samples").getAsInt());
    }

    @Test
    void theCnnReachesNinetyPercentOnTheFullTestSet() throws IOException {
        JsonObject provenance =
                JsonParser.parseString(Files.readString(TestModel.CNN.directory().resolve("provenance.json")))
                        .getAsJsonObject();
        assertTrue(provenance.get("float_accuracy").getAsDouble() >= 0.90, provenance.toString());
    }

    @Test
    void aMissingModelDirectoryIsNamedInTheError(@TempDir Path empty) {
        IOException e = assertThrows(IOException.class, () -> TestModels.load(empty));
        assertTrue(e.getMessage().contains(empty.toAbsolutePath().toString()), e.getMessage());
    }

    @Test
    void unknownArchitectureIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TestModel.of("lenet"));
        assertTrue(e.getMessage().contains("lenet"));
    }
}
