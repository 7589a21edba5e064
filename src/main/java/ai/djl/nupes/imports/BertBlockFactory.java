package ai.djl.nupes.imports;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.BlockFactory;

import java.nio.file.Path;
import java.util.Map;

/**
 * Builds an uninitialized {@link BertEncoder} from {@link BertConfig} arguments, for {@code
 * serving.properties} ({@code blockFactory=ai.djl.nupes.imports.BertBlockFactory} plus the keys of
 * {@link BertConfig#toArguments}) or {@code Criteria.optArgument}; DJL then loads the parameters
 * positionally into it.
 */
public final class BertBlockFactory implements BlockFactory {

    private static final long serialVersionUID = 1L;

    /** Creates the factory (DJL instantiates it by class name). */
    public BertBlockFactory() {}

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException naming the model directory and the key when an argument is
     *     missing or invalid
     */
    @Override
    public Block newBlock(Model model, Path modelPath, Map<String, ?> arguments) {
        try {
            return new BertEncoder(BertConfig.fromArguments(arguments));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(modelPath + ": " + e.getMessage(), e);
        }
    }
}
