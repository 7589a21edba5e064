package ai.djl.nupes.spring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDList;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.Method;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.data.IdxFiles;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.nupes.imports.MiniLm;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.repository.zoo.ZooModel;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.core.ResolvableType;
import org.springframework.core.env.MapPropertySource;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.server.ResponseStatusException;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import javax.imageio.ImageIO;

/**
 * The Spring Boot example end to end on the loopback interface: concurrent classification and
 * sentence embedding equal to direct predictor calls, clear 400s for bad uploads and bodies,
 * quantization from a request thread.
 */
@SpringBootTest(
        classes = NupesSpringApp.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "server.address=127.0.0.1")
class SpringServiceTest {

    private static final int CLIENTS = 8;
    private static final int REQUESTS = 50;
    private static final int IMAGES = 64;
    private static final int EMBED_REQUESTS = 25;
    private static final int SENTENCE_LISTS = 16;

    private static Path frozenDir;

    @DynamicPropertySource
    static void modelDir(DynamicPropertyRegistry registry) {
        registry.add("nupes.model-dir", () -> frozen().toString());
        // all-MiniLM-L6-v2, uniform W4 g128 with W4 tables, frozen once per JVM (shared with
        // QuantizedMiniLmServingTest)
        registry.add("nupes.embedding-model-dir", () -> MiniLm.frozenW4G128().dir().toString());
    }

    /** Quantizes the bundled CNN (data-free powerquant-layer, W4, seed 0) and exports it frozen, once. */
    private static synchronized Path frozen() {
        if (frozenDir == null) {
            try {
                Path root = Files.createTempDirectory("nupes-spring-");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(root), "nupes-spring-cleanup"));
                Path dir = root.resolve("cnn-w4");
                try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.CNN)) {
                    QuantizedModel q = Nupes.quantize(model,
                            NupesConfig.builder().optMethod(Method.POWERQUANT_LAYER).setBits(4).optSeed(0).build());
                    FrozenExporter.export(q, dir, ExportOptions.builder().build());
                }
                frozenDir = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return frozenDir;
    }

    private static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary folder is harmless
        }
    }

    @LocalServerPort int port;

    @Autowired ZooModel<Image, Classifications> classifier;

    @Autowired ZooModel<String, float[]> embedder;

    private final HttpClient client = HttpClient.newHttpClient();

    /** The first bundled test images as 28x28 grayscale PNGs, deterministic. */
    private static List<byte[]> pngs(int count) throws IOException {
        IdxFiles.Images images = IdxFiles.readImages(
                FashionMnistIdx.BUNDLED_DIRECTORY.resolve(FashionMnistIdx.Split.TEST.imageFile()));
        List<byte[]> out = new ArrayList<>();
        int side = images.rows() * images.cols();
        for (int i = 0; i < count; i++) {
            byte[] pixels = new byte[side];
            System.arraycopy(images.pixels(), i * side, pixels, 0, side);
            out.add(png(images.cols(), images.rows(), pixels));
        }
        return out;
    }

    private static byte[] png(int width, int height, byte[] pixels) throws IOException {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setDataElements(0, 0, width, height, pixels);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    private HttpResponse<String> post(String path, String fileName, String contentType, byte[] body)
            throws IOException, InterruptedException {
        String boundary = "nupes-boundary-7f3a";
        ByteArrayOutputStream form = new ByteArrayOutputStream();
        form.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + fileName
                + "\"\r\nContent-Type: " + contentType + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        form.write(body);
        form.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(form.toByteArray()))
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> postJson(String path, String json) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8))
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** The vectors of an {@code /embed} answer, each number read as the float it was written from. */
    private static List<float[]> vectors(String body) {
        List<float[]> out = new ArrayList<>();
        for (com.google.gson.JsonElement v : JsonParser.parseString(body).getAsJsonArray()) {
            JsonArray a = v.getAsJsonArray();
            float[] f = new float[a.size()];
            for (int j = 0; j < f.length; j++) {
                // the number's own text: Float.toString's digits parse back to the same float
                f[j] = Float.parseFloat(a.get(j).getAsString());
            }
            out.add(f);
        }
        return out;
    }

    private static String jsonList(List<String> sentences) {
        JsonArray a = new JsonArray();
        sentences.forEach(a::add);
        return a.toString();
    }

    private static String rss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return line.substring(6).trim();
            }
        }
        return "unknown";
    }

    @Test
    void concurrentClientsGetTheDirectPredictorsAnswers() throws Exception {
        List<byte[]> pngs = pngs(IMAGES);
        List<String> expected = new ArrayList<>();
        try (Predictor<Image, Classifications> predictor = classifier.newPredictor()) {
            for (byte[] png : pngs) {
                Image image = ImageFactory.getInstance().fromInputStream(new ByteArrayInputStream(png));
                NupesController.Classification c = NupesController.answer(predictor.predict(image));
                expected.add(c.classIndex() + " " + c.probabilities());
            }
        }
        String rssBefore = rss();
        long start = System.nanoTime();
        int equal = concurrently(REQUESTS, (clientId, r) -> {
            int i = (clientId * REQUESTS + r) % IMAGES;
            HttpResponse<String> response = post("/classify", "img" + i + ".png", "image/png", pngs.get(i));
            assertEquals(200, response.statusCode(), response.body());
            JsonObject json = JsonParser.parseString(response.body()).getAsJsonObject();
            JsonArray p = json.getAsJsonArray("probabilities");
            List<Double> probabilities = new ArrayList<>();
            p.forEach(e -> probabilities.add(e.getAsDouble()));
            assertEquals(NupesModelConfiguration.CLASSES.get(json.get("classIndex").getAsInt()),
                    json.get("className").getAsString());
            assertEquals(expected.get(i), json.get("classIndex").getAsInt() + " " + probabilities, "image " + i);
            return 1;
        });
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(CLIENTS * REQUESTS, equal);
        System.out.printf("spring /classify: %d clients x %d requests = %d answers, %d equal to the direct"
                        + " predictor, %.2f s, VmRSS before %s, after %s%n",
                CLIENTS, REQUESTS, CLIENTS * REQUESTS, equal, seconds, rssBefore, rss());
    }

    /** One request of one client, returning how many of its answers matched. */
    @FunctionalInterface
    interface Request {
        int send(int client, int request) throws Exception;
    }

    /**
     * Runs {@link #CLIENTS} clients at once, each sending {@code requests} requests in turn.
     *
     * @return the matched answers, summed over every request
     */
    private static int concurrently(int requests, Request request) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try {
            List<Future<Integer>> futures = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int client = c;
                futures.add(pool.submit(() -> {
                    int matched = 0;
                    for (int r = 0; r < requests; r++) {
                        matched += request.send(client, r);
                    }
                    return matched;
                }));
            }
            int matched = 0;
            for (Future<Integer> f : futures) {
                matched += f.get();
            }
            return matched;
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void aWrongSizeImageIsRejectedNamingTheExpectedSize() throws Exception {
        HttpResponse<String> response = post("/classify", "small.png", "image/png", png(27, 27, new byte[27 * 27]));
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.body().contains("28x28"), response.body());
        assertTrue(response.body().contains("27x27"), response.body());
    }

    @Test
    void aTextUploadIsRejected() throws Exception {
        HttpResponse<String> response = post("/classify", "notes.txt", "text/plain",
                "not an image".getBytes(StandardCharsets.UTF_8));
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.body().contains("not a readable image"), response.body());
    }

    @Test
    void quantizesOnARequestThread() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/quantize?bits=3"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        JsonObject json = JsonParser.parseString(response.body()).getAsJsonObject();
        assertFalse(json.get("thread").getAsString().equals(Thread.currentThread().getName()));
        JsonArray layers = json.getAsJsonArray("layers");
        assertEquals(4, layers.size(), response.body());
        layers.forEach(e -> {
            JsonObject l = e.getAsJsonObject();
            assertEquals(3, l.get("bits").getAsInt(), response.body());
            assertTrue(Double.isFinite(l.get("exponent").getAsDouble()), response.body());
        });
        System.out.println("spring /quantize on " + json.get("thread").getAsString() + ": " + layers);
    }

    /**
     * {@value #SENTENCE_LISTS} lists of 2 to 4 KJV verses (26 to 309 characters), one with a
     * non-ASCII sentence.
     */
    private static List<List<String>> sentenceLists() throws IOException {
        List<String> verses = MiniLm.verses(48);
        List<List<String>> lists = new ArrayList<>();
        int next = 0;
        for (int k = 0; k < SENTENCE_LISTS; k++) {
            int n = 2 + k % 3;
            List<String> list = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                list.add(verses.get(next++ % verses.size()));
            }
            lists.add(list);
        }
        lists.get(5).set(0, "Au commencement, Dieu cr\u00e9a les cieux et la terre \u2014 \u00ab\u00a0Que la lumi\u00e8re soit\u00a0\u00bb");
        return lists;
    }

    @Test
    void concurrentClientsGetTheDirectPredictorsEmbeddings() throws Exception {
        List<List<String>> lists = sentenceLists();
        List<List<float[]>> expected = new ArrayList<>();
        try (Predictor<String, float[]> predictor = embedder.newPredictor()) {
            for (List<String> list : lists) {
                // the same padded batch the endpoint runs
                expected.add(predictor.batchPredict(list));
            }
        }
        String rssBefore = rss();
        long start = System.nanoTime();
        int equal = concurrently(EMBED_REQUESTS, (clientId, r) -> {
            int k = (clientId * EMBED_REQUESTS + r) % SENTENCE_LISTS;
            HttpResponse<String> response = postJson("/embed", jsonList(lists.get(k)));
            assertEquals(200, response.statusCode(), response.body());
            List<float[]> got = vectors(response.body());
            assertEquals(lists.get(k).size(), got.size(), "list " + k);
            for (int j = 0; j < got.size(); j++) {
                assertEquals(384, got.get(j).length);
                // bit for bit: assertArrayEquals without a delta compares float bits
                assertArrayEquals(expected.get(k).get(j), got.get(j), "list " + k + " sentence " + j);
            }
            return got.size();
        });
        double seconds = (System.nanoTime() - start) / 1e9;
        int sentences = 0;
        for (int c = 0; c < CLIENTS; c++) {
            for (int r = 0; r < EMBED_REQUESTS; r++) {
                sentences += lists.get((c * EMBED_REQUESTS + r) % SENTENCE_LISTS).size();
            }
        }
        assertEquals(sentences, equal);
        System.out.printf("spring /embed: %d clients x %d requests = %d answers (%d sentences), %d vectors"
                        + " bit for bit equal to the direct predictor, %.2f s (%.1f requests/s), VmRSS before %s,"
                        + " after %s%n",
                CLIENTS, EMBED_REQUESTS, CLIENTS * EMBED_REQUESTS, sentences, equal, seconds,
                CLIENTS * EMBED_REQUESTS / seconds, rssBefore, rss());
    }

    @Test
    void badEmbedBodiesAreRejectedNamingTheProblem() throws Exception {
        String tooLong = "x".repeat(NupesController.MAX_CHARS + 1);
        String[][] cases = {
            {"", "the body is empty"},
            {"not json", "the body is not JSON"},
            {"[\"a\"] [\"b\"]", "the body is not JSON"},
            {"{\"sentences\": [\"a\"]}", "expected a JSON list of 1 to 64 sentences, got a JSON object"},
            {"\"a sentence\"", "got a JSON string"},
            {"[]", "the list is empty"},
            {jsonList(Collections.nCopies(NupesController.MAX_SENTENCES + 1, "a")),
                "the list has 65 sentences; at most 64 per request"},
            {"[\"a\", 3, \"b\"]", "element 1 is a JSON number, not a string"},
            {"[\"a\", \"b\", null]", "element 2 is a JSON null, not a string"},
            {"[[\"a\"]]", "element 0 is a JSON array, not a string"},
            {"[\"a\", \"\"]", "element 1 is an empty string"},
            {"[\" \\t \"]", "element 0 is blank"},
            {"[\"a\", \"" + tooLong + "\"]", "element 1 has 4097 characters; at most 4096"},
        };
        for (String[] c : cases) {
            HttpResponse<String> response = postJson("/embed", c[0]);
            String shown = c[0].length() > 60 ? c[0].substring(0, 60) + "..." : c[0];
            assertEquals(400, response.statusCode(), shown + " -> " + response.body());
            String error = JsonParser.parseString(response.body()).getAsJsonObject().get("error").getAsString();
            assertTrue(error.contains(c[1]), shown + " -> " + error);
        }
        // the limits themselves are accepted
        List<String> most = new ArrayList<>();
        for (int i = 0; i < NupesController.MAX_SENTENCES; i++) {
            most.add(i == 0 ? "y".repeat(NupesController.MAX_CHARS) : "word " + i);
        }
        HttpResponse<String> response = postJson("/embed", jsonList(most));
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(NupesController.MAX_SENTENCES, vectors(response.body()).size());
    }

    @Test
    void withoutAnEmbeddingModelTheImageServiceStartsAndEmbedSaysHowToConfigureOne() {
        // the configuration and controller alone, in a plain context: no web server, no second model
        try (AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext()) {
            context.getEnvironment().getPropertySources()
                    .addFirst(new MapPropertySource("image-only", Map.of("nupes.model-dir", frozen().toString())));
            context.register(NupesModelConfiguration.class, NupesController.class);
            context.refresh();
            assertEquals(0, context.getBeanNamesForType(
                    ResolvableType.forClassWithGenerics(ZooModel.class, String.class, float[].class)).length);
            assertEquals(1, context.getBeanNamesForType(
                    ResolvableType.forClassWithGenerics(ZooModel.class, Image.class, Classifications.class)).length);
            NupesController controller = context.getBean(NupesController.class);
            ResponseStatusException e = assertThrows(ResponseStatusException.class, () -> controller.embed("[\"a\"]"));
            assertEquals(503, e.getStatusCode().value());
            assertTrue(e.getReason().contains("--nupes.embedding-model-dir="), e.getReason());
        }
    }
}
