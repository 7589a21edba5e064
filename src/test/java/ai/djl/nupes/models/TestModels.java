package ai.djl.nupes.models;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDList;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Loads the trained test models from {@code test-models/} through DJL's {@link Criteria}. */
public final class TestModels {

    private TestModels() {}

    /**
     * Loads a test model as an {@code NDList → NDList} model.
     *
     * @param model which model
     * @return the loaded model; the caller closes it
     * @throws IOException when the directory or its files are missing (the message names them)
     */
    public static ZooModel<NDList, NDList> load(TestModel model) throws IOException {
        return load(model.directory());
    }

    /**
     * Loads any model directory whose {@code serving.properties} names a block factory.
     *
     * @param dir the model directory
     * @return the loaded model; the caller closes it
     * @throws IOException when the directory or its files are missing
     */
    public static ZooModel<NDList, NDList> load(Path dir) throws IOException {
        if (!Files.isRegularFile(dir.resolve("serving.properties"))) {
            throw new IOException(
                    "no model at " + dir.toAbsolutePath() + " (serving.properties missing); "
                            + "run the training command in the README to rebuild it");
        }
        Criteria<NDList, NDList> criteria =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optModelPath(dir)
                        .build();
        try {
            return criteria.loadModel();
        } catch (ModelNotFoundException | MalformedModelException e) {
            throw new IOException("cannot load model from " + dir.toAbsolutePath() + ": "
                    + e.getMessage(), e);
        }
    }
}
