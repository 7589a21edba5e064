package ai.djl.nupes.imports;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.repository.zoo.Criteria;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Imports a BERT-family ONNX encoder (e.g. all-MiniLM-L6-v2 as LangChain4j ships it) as DJL blocks:
 * a {@link BertEncoder} whose projections are plain {@link ai.djl.nn.core.Linear} layers.
 *
 * <p>A source is an {@code .onnx} file, a directory holding one, or a jar holding exactly one
 * {@code *.onnx} entry (its {@code *tokenizer.json} is picked up too).
 */
public final class BertImporter {

    /** The engine the imported model runs on. */
    public static final String ENGINE = "PyTorch";

    /** The name of the tokenizer file in a written model directory. */
    public static final String TOKENIZER_FILE = "tokenizer.json";

    /**
     * DJL's sentence-embedding translator factory (in the optional {@code
     * ai.djl.huggingface:tokenizers}).
     */
    public static final String EMBEDDING_TRANSLATOR_FACTORY =
            "ai.djl.huggingface.translator.TextEmbeddingTranslatorFactory";

    private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private BertImporter() {}

    /**
     * Reads a source's architecture and weights without building a model.
     *
     * @param source an {@code .onnx} file, a directory with one, or a jar with one
     * @return the checkpoint (its tensors are views of the source's bytes)
     * @throws IOException when the source cannot be read; the message names the file
     * @throws MalformedModelException when it is not a BERT-family ONNX encoder; the message names
     *     the file and the node or tensor
     */
    public static BertCheckpoint readCheckpoint(Path source)
            throws IOException, MalformedModelException {
        return checkpoint(OnnxSource.open(source));
    }

    /**
     * Imports an encoder as an initialized model on the PyTorch engine.
     *
     * <p>The model's properties hold {@code blockFactory} and the {@link BertConfig} arguments, so
     * that an exporter can record how to rebuild the architecture.
     *
     * @param source an {@code .onnx} file, a directory with one, or a jar with one
     * @return the model, named after the {@code .onnx} file; the caller closes it
     * @throws IOException when the source cannot be read; the message names the file
     * @throws MalformedModelException when it is not a BERT-family ONNX encoder; the message names
     *     the file and the node or tensor
     */
    public static Model load(Path source) throws IOException, MalformedModelException {
        OnnxSource s = OnnxSource.open(source);
        return newModel(s, checkpoint(s));
    }

    /**
     * Writes a DJL model directory that plain {@code Criteria} loads: {@code serving.properties},
     * {@code <name>-0000.params} and {@code tokenizer.json}.
     *
     * <p>{@link #embeddingCriteria} on the directory gives normalized mean-pooled embeddings (DJL's
     * {@code TextEmbeddingTranslatorFactory}); plain {@code Criteria<NDList, NDList>} gives the raw
     * {@code last_hidden_state}. {@code serving.properties} names no {@code tokenizerPath}: DJL
     * reads it as a path relative to the working directory, not to the model, and without it the
     * translator factory looks for {@code tokenizer.json} in the model directory, wherever that has
     * been moved to.
     *
     * @param source an {@code .onnx} file, a directory with one, or a jar with one; a tokenizer
     *     must lie beside it ({@code <name>-tokenizer.json} or {@code tokenizer.json})
     * @param outDir the directory to write; created if absent, refused if not empty
     * @param name the model name (letters, digits, {@code .}, {@code _}, {@code -})
     * @return {@code outDir}
     * @throws IOException when the source cannot be read, has no tokenizer, or outDir is not empty
     * @throws MalformedModelException when the source is not a BERT-family ONNX encoder
     */
    public static Path writeModelDirectory(Path source, Path outDir, String name)
            throws IOException, MalformedModelException {
        if (name == null || !MODEL_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "model name '" + name + "' must match " + MODEL_NAME.pattern());
        }
        requireEmptyOrAbsent(outDir);
        OnnxSource s = OnnxSource.open(source);
        if (s.tokenizerJson() == null) {
            throw new FileNotFoundException(
                    "no tokenizer beside "
                            + source
                            + " (looked for "
                            + s.name()
                            + '-'
                            + TOKENIZER_FILE
                            + " and "
                            + TOKENIZER_FILE
                            + ')');
        }
        BertCheckpoint checkpoint = checkpoint(s);
        Files.createDirectories(outDir);
        try (Model model = newModel(s, checkpoint)) {
            model.save(outDir, name);
        }
        Files.write(outDir.resolve(TOKENIZER_FILE), s.tokenizerJson());
        Files.writeString(
                outDir.resolve("serving.properties"),
                servingProperties(name, checkpoint.config()),
                StandardCharsets.UTF_8);
        return outDir;
    }

    /**
     * A {@code Criteria} for sentence embeddings from a directory {@link #writeModelDirectory}
     * wrote: mean-pooled, L2-normalized {@code float[]} per string.
     *
     * <p>It is plain {@code Criteria} plus the {@code translatorFactory} argument: DJL (0.36)
     * chooses the translator before it reads {@code serving.properties}, so the factory named there
     * is only seen by {@code Input/Output} serving; the other keys there ({@code pooling}, {@code
     * normalize}, {@code includeTokenTypes}, the architecture) are read as usual.
     *
     * @param modelDir the written directory
     * @return the criteria; {@code loadModel()} needs {@code ai.djl.huggingface:tokenizers} at run
     *     time
     */
    public static Criteria<String, float[]> embeddingCriteria(Path modelDir) {
        return Criteria.builder()
                .setTypes(String.class, float[].class)
                .optModelPath(modelDir)
                .optArgument("translatorFactory", EMBEDDING_TRANSLATOR_FACTORY)
                .build();
    }

    /**
     * The {@code serving.properties} of a written model directory.
     *
     * @param name the model name
     * @param config the architecture
     * @return the file's text
     */
    static String servingProperties(String name, BertConfig config) {
        StringBuilder sb = new StringBuilder();
        sb.append("# BERT encoder imported from ONNX by ")
                .append(BertImporter.class.getName())
                .append('\n');
        sb.append("engine=").append(ENGINE).append('\n');
        sb.append("option.modelName=").append(name).append('\n');
        sb.append("blockFactory=").append(BertBlockFactory.class.getName()).append('\n');
        for (Map.Entry<String, String> e : config.toArguments().entrySet()) {
            sb.append(e.getKey()).append('=').append(e.getValue()).append('\n');
        }
        sb.append("# String -> float[]: mean-pooled, L2-normalized sentence embeddings;")
                .append(" the tokenizer is the model directory's ")
                .append(TOKENIZER_FILE)
                .append('\n');
        sb.append("translatorFactory=").append(EMBEDDING_TRANSLATOR_FACTORY).append('\n');
        sb.append("includeTokenTypes=true\n");
        sb.append("pooling=mean\n");
        sb.append("normalize=true\n");
        return sb.toString();
    }

    private static BertCheckpoint checkpoint(OnnxSource s) throws MalformedModelException {
        try {
            return BertGraphMapper.map(s.model());
        } catch (MalformedModelException e) {
            throw new MalformedModelException(s.origin() + ": " + e.getMessage(), e);
        }
    }

    private static Model newModel(OnnxSource s, BertCheckpoint checkpoint)
            throws MalformedModelException {
        Model model = Model.newInstance(s.name(), ENGINE);
        try {
            BertEncoder encoder = new BertEncoder(checkpoint.config());
            BertWeightLoader.load(encoder, checkpoint, model.getNDManager());
            model.setBlock(encoder);
            model.setProperty("blockFactory", BertBlockFactory.class.getName());
            checkpoint.config().toArguments().forEach(model::setProperty);
            return model;
        } catch (MalformedModelException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static void requireEmptyOrAbsent(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new FileAlreadyExistsException(
                    dir.toString(), null, "exists and is not a directory");
        }
        try (Stream<Path> entries = Files.list(dir)) {
            if (entries.findAny().isPresent()) {
                throw new FileAlreadyExistsException(
                        dir.toString(), null, "directory is not empty");
            }
        }
    }
}
