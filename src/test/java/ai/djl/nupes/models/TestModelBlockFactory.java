package ai.djl.nupes.models;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.BlockFactory;

import java.nio.file.Path;
import java.util.Map;

/**
 * Builds a test model's block for {@code Criteria}: {@code serving.properties} names this class as
 * {@code blockFactory} and the model as {@code architecture=cnn} (or mlp, resnet, transformer).
 */
public final class TestModelBlockFactory implements BlockFactory {

    private static final long serialVersionUID = 1L;

    /** {@inheritDoc} */
    @Override
    public Block newBlock(Model model, Path modelPath, Map<String, ?> arguments) {
        Object architecture = arguments.get("architecture");
        if (architecture == null) {
            throw new IllegalArgumentException(
                    modelPath.resolve("serving.properties")
                            + ": missing 'architecture' (mlp, cnn, resnet, transformer or lm)");
        }
        return TestModel.of(architecture.toString()).newBlock();
    }
}
