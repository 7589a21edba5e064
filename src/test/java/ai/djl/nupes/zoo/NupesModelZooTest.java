package ai.djl.nupes.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.Fixtures;
import ai.djl.nupes.format.Manifest;
import ai.djl.nupes.models.Evaluation;
import ai.djl.nupes.nn.FrozenLayer;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooModel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

class NupesModelZooTest {

    @Test
    void theZooIsRegisteredThroughServiceLoader() {
        ModelZoo zoo = ModelZoo.getModelZoo(NupesModelZoo.GROUP_ID);
        assertTrue(zoo instanceof NupesModelZoo, String.valueOf(zoo));
        assertEquals(4, zoo.getModelLoaders().size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "cnn", "resnet", "transformer"})
    void frozenAndFloatModelsLoadByFilterAndMatchTheirRecordedAccuracy(String id) throws Exception {
        for (String bits : new String[] {"32", "4", "3"}) {
            Criteria<NDList, NDList> criteria =
                    Criteria.builder()
                            .setTypes(NDList.class, NDList.class)
                            .optGroupId(NupesModelZoo.GROUP_ID)
                            .optArtifactId(id)
                            .optFilter("bits", bits)
                            .build();
            try (ZooModel<NDList, NDList> model = criteria.loadModel();
                    NDManager manager = model.getNDManager().newSubManager()) {
                boolean frozen = hasFrozen(model.getBlock());
                assertEquals(!"32".equals(bits), frozen, id + " bits=" + bits);
                double accuracy = Evaluation.accuracy(model.getBlock(), Fixtures.bundledTestSet(manager), manager);
                Path dir = NupesModelZoo.directory().resolve("model/cv/image_classification/ai/djl/nupes")
                        .resolve(id).resolve(NupesModelZoo.VERSION).resolve("w" + bits);
                if (frozen) {
                    Manifest manifest = Manifest.read(dir.resolve(Manifest.FILE));
                    assertEquals(Integer.parseInt(bits), manifest.layers().get(1).bits());
                    assertEquals(manifest.accuracy().quantizedAccuracy(), accuracy, 5e-5, id + " W" + bits);
                } else {
                    assertTrue(accuracy > 0.8, id + " float " + accuracy);
                    assertTrue(Files.notExists(dir));
                }
            }
        }
    }

    private static boolean hasFrozen(ai.djl.nn.Block b) {
        if (b instanceof FrozenLayer) {
            return true;
        }
        return b.getChildren().values().stream().anyMatch(NupesModelZooTest::hasFrozen);
    }
}
