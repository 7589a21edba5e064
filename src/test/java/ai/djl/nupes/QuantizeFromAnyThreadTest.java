package ai.djl.nupes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDList;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.models.TestModels;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.repository.zoo.ZooModel;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;

/**
 * Every method quantizes from a thread other than the one that started the engine (a fresh
 * thread's grad mode is on), with the codes the calling thread gets; two models quantized at once
 * on two threads both succeed with their single-thread codes.
 */
class QuantizeFromAnyThreadTest {

    private static final Map<Method, List<byte[]>> ON_THE_TEST_THREAD = new EnumMap<>(Method.class);

    private static NupesConfig config(Method method) throws Exception {
        return NupesConfig.builder()
                .optMethod(method)
                .setBits(3)
                .optIterations(40)
                .optCalibrationSamples(128)
                .optSeed(5)
                .optCalibrationData(Fixtures.calibrationData())
                .build();
    }

    /** Quantizes a freshly loaded model and returns its codes, layer by layer. */
    private static List<byte[]> codes(TestModel testModel, Method method) throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(testModel)) {
            QuantizedModel q = Nupes.quantize(model, config(method));
            List<byte[]> out = new ArrayList<>();
            for (QuantizedLayer l : q.getLayers()) {
                out.add(l.getQuantizer().getQuantizedWeights().getCodes());
            }
            return out;
        }
    }

    private static void assertSameCodes(List<byte[]> expected, List<byte[]> actual, String what) {
        assertEquals(expected.size(), actual.size(), what);
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), what + ": layer " + i);
        }
    }

    @BeforeAll
    static void quantizeOnTheTestThread() throws Exception {
        for (Method m : List.of(Method.NUPES, Method.NUPES_FIXED_EXPONENT, Method.LEARNED_ROUNDING)) {
            ON_THE_TEST_THREAD.put(m, codes(TestModel.MLP, m));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Method.class, names = {"NUPES", "NUPES_FIXED_EXPONENT", "LEARNED_ROUNDING"})
    void quantizesOnAFreshThread(Method method) throws Exception {
        FutureTask<List<byte[]>> task = new FutureTask<>(() -> codes(TestModel.MLP, method));
        Thread thread = new Thread(task, "fresh-" + method);
        thread.start();
        assertSameCodes(ON_THE_TEST_THREAD.get(method), task.get(), method + " on a fresh thread");
    }

    @ParameterizedTest
    @EnumSource(value = Method.class, names = {"NUPES", "NUPES_FIXED_EXPONENT", "LEARNED_ROUNDING"})
    void quantizesOnAnExecutorAndAForkJoinPool(Method method) throws Exception {
        ExecutorService executor = Executors.newSingleThreadExecutor();
        ForkJoinPool pool = new ForkJoinPool(1);
        try {
            Callable<List<byte[]>> job = () -> codes(TestModel.MLP, method);
            assertSameCodes(ON_THE_TEST_THREAD.get(method), executor.submit(job).get(), method + " on an executor");
            assertSameCodes(ON_THE_TEST_THREAD.get(method), pool.submit(job).get(), method + " on a fork-join pool");
        } finally {
            executor.shutdownNow();
            pool.shutdownNow();
        }
    }

    @Test
    void twoModelsQuantizedAtOnceOnTwoThreadsBothSucceed() throws Exception {
        List<byte[]> cnnAlone = codes(TestModel.CNN, Method.NUPES);
        ExecutorService two = Executors.newFixedThreadPool(2);
        try {
            Future<List<byte[]>> mlp = two.submit(() -> codes(TestModel.MLP, Method.NUPES));
            Future<List<byte[]>> cnn = two.submit(() -> codes(TestModel.CNN, Method.NUPES));
            assertSameCodes(ON_THE_TEST_THREAD.get(Method.NUPES), mlp.get(), "MLP beside the CNN");
            assertSameCodes(cnnAlone, cnn.get(), "CNN beside the MLP");
        } finally {
            two.shutdownNow();
        }
    }
}
