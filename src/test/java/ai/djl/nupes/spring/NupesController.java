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

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;
import org.springframework.web.server.ResponseStatusException;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@code POST /classify} and {@code POST /quantize}. */
@RestController
public class NupesController {

    /** The answer of {@code /classify}: top class and the ten probabilities in class order. */
    public record Classification(String className, int classIndex, List<Double> probabilities) {}

    /** One layer of the {@code /quantize} answer. */
    public record LayerBits(String path, int bits, float exponent) {}

    /** The answer of {@code /quantize}. */
    public record QuantizeAnswer(String method, String thread, List<LayerBits> layers) {}

    private final ZooModel<Image, Classifications> classifier;

    /**
     * Creates the controller.
     *
     * @param classifier the frozen model bean
     */
    public NupesController(ZooModel<Image, Classifications> classifier) {
        this.classifier = classifier;
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
