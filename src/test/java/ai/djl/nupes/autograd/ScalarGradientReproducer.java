package ai.djl.nupes.autograd;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import java.util.function.UnaryOperator;

/**
 * The smallest program that shows DJL's PyTorch engine computing a gradient from freed memory:
 * {@code x.div(4f)} under autograd, a garbage collection and a burst of allocations before the
 * backward pass. Kept so that the engine's behaviour can be re-checked when DJL changes.
 */
public final class ScalarGradientReproducer {

    private ScalarGradientReproducer() {}

    /**
     * Computes {@code d/dx sum(f(x))} for {@code x = ones(4)}, collecting garbage and allocating
     * between the forward and the backward pass.
     *
     * @param f the forward function
     * @return the gradient of the first element
     */
    public static float gradientAfterCollection(UnaryOperator<NDArray> f) {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray x = manager.ones(new Shape(4));
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = f.apply(x);
                churn(manager);
                gc.backward(y.sum());
            }
            return x.getGradient().getFloat(0);
        }
    }

    /**
     * Collects garbage and allocates a few thousand small direct buffers, so that freed buffer
     * memory is handed out again and overwritten.
     *
     * @param manager where the short-lived arrays are made
     */
    public static void churn(NDManager manager) {
        System.gc();
        try {
            Thread.sleep(20); // lets the reference handler free the collected buffers
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (NDManager burst = manager.newSubManager()) {
            for (int i = 0; i < 4000; i++) {
                burst.create(new float[] {12345.678f, -9876.5f, 4.2e10f, Float.MAX_VALUE});
            }
        }
    }

    /**
     * Prints the gradient of {@code x/4} with a number and with a kept scalar.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        for (int run = 0; run < 10; run++) {
            float viaNumber = gradientAfterCollection(x -> x.div(4f));
            float viaScalar = gradientAfterCollection(x -> Scalars.div(x, 4f));
            System.out.println("run " + run + ": x.div(4f) -> " + viaNumber + ", Scalars.div(x, 4f) -> " + viaScalar);
        }
    }
}
