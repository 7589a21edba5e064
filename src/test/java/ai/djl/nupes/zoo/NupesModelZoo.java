package ai.djl.nupes.zoo;

import ai.djl.Application;
import ai.djl.repository.Repository;
import ai.djl.repository.zoo.ModelZoo;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.Set;

/**
 * The test models, float and frozen, as a DJL model zoo over the local repository in {@code
 * zoo-configs/} (or the directory named by the {@value #DIRECTORY_PROPERTY} system property).
 *
 * <pre>{@code
 * Criteria.builder().setTypes(NDList.class, NDList.class)
 *         .optGroupId(NupesModelZoo.GROUP_ID).optArtifactId("cnn").optFilter("bits", "4")
 *         .build().loadModel();
 * }</pre>
 *
 * <p>Artifacts carry the property {@code bits}: {@code 32} for the float model, {@code 4} and
 * {@code 3} for the frozen NUPES models. Nothing is downloaded: DJL copies the files from the local
 * repository into its cache.
 */
public final class NupesModelZoo extends ModelZoo {

    /** The zoo's group id. */
    public static final String GROUP_ID = "ai.djl.nupes";
    /** System property naming the zoo directory. */
    public static final String DIRECTORY_PROPERTY = "nupes.zoo.dir";
    /** The artifact version written by the zoo command. */
    public static final String VERSION = "0.1.0";
    /** Creates the zoo over {@link #directory()}. */
    public NupesModelZoo() {
        // DJL's ModelZoo builds its providers' zoos while this class is still initializing, so no
        // non-constant static field of this class may be read here
        Repository repository = Repository.newInstance("nupes", directory());
        for (String id : new String[] {"mlp", "cnn", "resnet", "transformer"}) {
            addModel(repository.model(Application.CV.IMAGE_CLASSIFICATION, GROUP_ID, id, VERSION));
        }
    }

    /**
     * Returns the zoo directory.
     *
     * @return the {@value #DIRECTORY_PROPERTY} property, else {@code zoo-configs}
     */
    public static Path directory() {
        String dir = System.getProperty(DIRECTORY_PROPERTY);
        return (dir == null || dir.isBlank() ? Paths.get("zoo-configs") : Paths.get(dir)).toAbsolutePath();
    }

    /** {@inheritDoc} */
    @Override
    public String getGroupId() {
        return GROUP_ID;
    }

    /** {@inheritDoc} */
    @Override
    public Set<String> getSupportedEngines() {
        return Collections.singleton("PyTorch");
    }
}
