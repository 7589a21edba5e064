package ai.djl.nupes.spring;

import ai.djl.MalformedModelException;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.transform.ToTensor;
import ai.djl.modality.cv.translator.ImageClassificationTranslator;
import ai.djl.nupes.imports.BertImporter;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Loads the frozen NUPES models through plain DJL {@link Criteria}: the image classifier named by
 * {@code nupes.model-dir} (required) and, when {@code nupes.embedding-model-dir} is set, a frozen
 * BERT-family text encoder (e.g. all-MiniLM-L6-v2 W4 g128) for {@code POST /embed}.
 */
@Configuration
public class NupesModelConfiguration {

    /** The ten Fashion-MNIST classes, in label order. */
    public static final List<String> CLASSES =
            List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot");

    /** The image side the models take. */
    public static final int SIDE = 28;

    /**
     * The translator: grayscale image to a {@code (1, 28, 28)} tensor in [0, 1], softmax over the
     * ten logits.
     *
     * @return a new translator
     */
    public static ImageClassificationTranslator translator() {
        return ImageClassificationTranslator.builder()
                .optFlag(Image.Flag.GRAYSCALE)
                .addTransform(new ToTensor())
                .optSynset(CLASSES)
                .optApplySoftmax(true)
                .build();
    }

    /**
     * The frozen classifier, closed with the context.
     *
     * @param modelDir the frozen model directory
     * @return the loaded model
     * @throws IOException when the directory holds no loadable model
     * @throws ModelNotFoundException when no engine or zoo takes the directory
     * @throws MalformedModelException when the files are damaged
     */
    @Bean(destroyMethod = "close")
    public ZooModel<Image, Classifications> classifier(@Value("${nupes.model-dir}") Path modelDir)
            throws IOException, ModelNotFoundException, MalformedModelException {
        return Criteria.builder()
                .setTypes(Image.class, Classifications.class)
                .optModelPath(modelDir)
                .optTranslator(translator())
                .build()
                .loadModel();
    }

    /**
     * The frozen sentence encoder (mean-pooled, L2-normalised vectors), closed with the context;
     * only when {@code nupes.embedding-model-dir} is set.
     *
     * @param modelDir the frozen model directory, as {@code FrozenExporter} wrote it from a model
     *     {@code BertImporter.writeModelDirectory} made
     * @return the loaded model
     * @throws IOException when the directory holds no loadable model
     * @throws ModelNotFoundException when no engine or zoo takes the directory
     * @throws MalformedModelException when the files are damaged
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnProperty("nupes.embedding-model-dir")
    public ZooModel<String, float[]> embedder(@Value("${nupes.embedding-model-dir}") Path modelDir)
            throws IOException, ModelNotFoundException, MalformedModelException {
        return BertImporter.embeddingCriteria(modelDir).loadModel();
    }
}
