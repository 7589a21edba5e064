package ai.djl.nupes.spring;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDList;
import ai.djl.nupes.LayerReport;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizationReport;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;
import org.springframework.web.server.ResponseStatusException;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** {@code POST /classify}, {@code POST /quantize} and, with an embedding model, {@code POST /embed}. */
@RestController
public class NupesController {

    /** The answer of {@code /classify}: top class and the ten probabilities in class order. */
    public record Classification(String className, int classIndex, List<Double> probabilities) {}

    /** One layer of the {@code /quantize} answer. */
    public record LayerBits(String path, int bits, float exponent) {}

    /** The answer of {@code /quantize}. */
    public record QuantizeAnswer(String method, String thread, List<LayerBits> layers) {}

    /** The most sentences one {@code /embed} request may carry. */
    public static final int MAX_SENTENCES = 64;

    /**
     * The longest sentence {@code /embed} takes, in characters: a guard on the body's size (the
     * tokenizer keeps only a sentence's first 128 tokens anyway).
     */
    public static final int MAX_CHARS = 4096;

    private static final ObjectReader JSON =
            new ObjectMapper().reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final ZooModel<Image, Classifications> classifier;
    private final Optional<ZooModel<String, float[]>> embedder;

    /**
     * Creates the controller.
     *
     * @param classifier the frozen image model bean
     * @param embedder the frozen text encoder bean, absent when {@code nupes.embedding-model-dir}
     *     is not set
     */
    public NupesController(
            ZooModel<Image, Classifications> classifier, Optional<ZooModel<String, float[]>> embedder) {
        this.classifier = classifier;
        this.embedder = embedder;
    }

    /**
     * Classifies one 28x28 grayscale PNG with a predictor of its own.
     *
     * @param file the multipart part {@code file}
     * @return top class and probabilities
     * @throws TranslateException when inference fails
     */
    @PostMapping(path = "/classify", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    public Classification classify(@RequestParam("file") MultipartFile file) throws TranslateException {
        Image image = decode(file);
        Classifications result;
        // predictors are not thread-safe: one per request
        try (Predictor<Image, Classifications> predictor = classifier.newPredictor()) {
            result = predictor.predict(image);
        }
        return answer(result);
    }

    /**
     * The JSON answer for a classification.
     *
     * @param result the predictor's output
     * @return top class and probabilities in class order
     */
    public static Classification answer(Classifications result) {
        List<Double> probabilities = new ArrayList<>(result.getProbabilities());
        int top = 0;
        for (int i = 1; i < probabilities.size(); i++) {
            if (probabilities.get(i) > probabilities.get(top)) {
                top = i;
            }
        }
        return new Classification(result.getClassNames().get(top), top, probabilities);
    }

    private static Image decode(MultipartFile file) {
        Image image;
        try (InputStream in = file.getInputStream()) {
            image = ImageFactory.getInstance().fromInputStream(in);
        } catch (IOException | RuntimeException e) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
                    "the upload '" + file.getOriginalFilename() + "' is not a readable image; expected a "
                            + NupesModelConfiguration.SIDE + "x" + NupesModelConfiguration.SIDE
                            + " grayscale PNG");
        }
        if (image.getWidth() != NupesModelConfiguration.SIDE || image.getHeight() != NupesModelConfiguration.SIDE) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
                    "expected a " + NupesModelConfiguration.SIDE + "x" + NupesModelConfiguration.SIDE
                            + " grayscale image, got " + image.getWidth() + "x" + image.getHeight());
        }
        return image;
    }

    /**
     * Embeds a JSON list of sentences with a predictor of its own: one mean-pooled, L2-normalised
     * vector per sentence, in order.
     *
     * @param body a JSON list of 1 to {@value #MAX_SENTENCES} non-blank strings
     * @return the vectors
     * @throws TranslateException when inference fails
     */
    @PostMapping(path = "/embed", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    public List<float[]> embed(@RequestBody(required = false) String body) throws TranslateException {
        ZooModel<String, float[]> model = embedder.orElseThrow(() -> new ResponseStatusException(
                HttpStatus.SERVICE_UNAVAILABLE, "no embedding model is configured; start the service with"
                        + " --nupes.embedding-model-dir=<frozen text encoder directory>"));
        List<String> sentences = sentences(body);
        // predictors are not thread-safe: one per request; the list goes through as one padded batch
        try (Predictor<String, float[]> predictor = model.newPredictor()) {
            return predictor.batchPredict(sentences);
        }
    }

    /**
     * Reads an {@code /embed} body, refusing anything but a JSON list of 1 to {@value
     * #MAX_SENTENCES} non-blank strings of at most {@value #MAX_CHARS} characters.
     *
     * @param body the request body, or null when there was none
     * @return the sentences
     * @throws ResponseStatusException 400, naming the problem and the element at fault
     */
    public static List<String> sentences(String body) {
        String expected = "expected a JSON list of 1 to " + MAX_SENTENCES + " sentences";
        if (body == null || body.isBlank()) {
            throw badRequest("the body is empty; " + expected);
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw badRequest("the body is not JSON (" + e.getOriginalMessage() + "); " + expected);
        }
        if (!root.isArray()) {
            throw badRequest(expected + ", got a JSON " + type(root));
        }
        if (root.isEmpty()) {
            throw badRequest("the list is empty; " + expected);
        }
        if (root.size() > MAX_SENTENCES) {
            throw badRequest("the list has " + root.size() + " sentences; at most " + MAX_SENTENCES
                    + " per request");
        }
        List<String> sentences = new ArrayList<>(root.size());
        for (int i = 0; i < root.size(); i++) {
            JsonNode e = root.get(i);
            if (!e.isTextual()) {
                throw badRequest("element " + i + " is a JSON " + type(e) + ", not a string");
            }
            String s = e.textValue();
            if (s.isEmpty()) {
                throw badRequest("element " + i + " is an empty string");
            }
            if (s.isBlank()) {
                throw badRequest("element " + i + " is blank (only whitespace)");
            }
            if (s.length() > MAX_CHARS) {
                throw badRequest("element " + i + " has " + s.length() + " characters; at most " + MAX_CHARS);
            }
            sentences.add(s);
        }
        return sentences;
    }

    private static String type(JsonNode node) {
        return node.getNodeType().name().toLowerCase(Locale.ROOT);
    }

    private static ResponseStatusException badRequest(String reason) {
        return new ResponseStatusException(HttpStatus.BAD_REQUEST, reason);
    }

    /**
     * Quantizes a freshly loaded float CNN on the request thread (data-free
     * {@code powerquant-layer}, seeded) and returns each layer's bits and exponent.
     *
     * @param bits weight bits, 2 to 8
     * @return the report's layers
     * @throws IOException when the test model is missing
     */
    @PostMapping("/quantize")
    public QuantizeAnswer quantize(@RequestParam(name = "bits", defaultValue = "4") int bits) throws IOException {
        if (bits < 2 || bits > 8) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "bits must be 2 to 8, got " + bits);
        }
        NupesConfig config = NupesConfig.builder().optMethod(Method.POWERQUANT_LAYER).setBits(bits).optSeed(0).build();
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.CNN)) {
            QuantizationReport report = Nupes.quantize(model, config).getReport();
            List<LayerBits> layers = new ArrayList<>();
            for (LayerReport l : report.layers()) {
                layers.add(new LayerBits(l.path(), l.bits(), l.exponent()));
            }
            return new QuantizeAnswer(report.method().toString(), Thread.currentThread().getName(), layers);
        }
    }

    /**
     * Answers a rejected request with its reason as JSON.
     *
     * @param e the rejection
     * @return status and {@code {"error": reason}}
     */
    @ExceptionHandler(ResponseStatusException.class)
    public ResponseEntity<Map<String, String>> rejected(ResponseStatusException e) {
        return ResponseEntity.status(e.getStatusCode()).body(Map.of("error", String.valueOf(e.getReason())));
    }
}
