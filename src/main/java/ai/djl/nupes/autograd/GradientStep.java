package ai.djl.nupes.autograd;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.training.GradientCollector;

import java.util.concurrent.CancellationException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One forward and backward pass under autograd, safe on any thread and beside other threads doing
 * the same.
 *
 * <p>DJL's PyTorch engine allows one {@link GradientCollector} at a time in the whole process (a
 * second, on any thread, throws), so every step of this library takes one process-wide lock for
 * the life of its collector: two models quantized on two threads take turns step by step. Grad
 * mode is per thread in the engine and a fresh thread starts with it on, so in-place updates of
 * learned variables go through {@link #subtractInPlace}, which works whatever the thread's mode.
 *
 * <pre>{@code
 * try (GradientStep step = GradientStep.open()) {
 *     NDArray loss = ...;          // forward
 *     step.backward(loss);
 * }
 * }</pre>
 */
public final class GradientStep implements AutoCloseable {

    private static final ReentrantLock COLLECTING = new ReentrantLock(true);

    private final GradientCollector collector;

    private GradientStep(GradientCollector collector) {
        this.collector = collector;
    }

    /**
     * Waits for the process-wide gradient lock and opens a collector.
     *
     * @return the step; close it to release the lock
     * @throws CancellationException when the thread is interrupted while waiting
     * @throws IllegalStateException when a collector that this library did not open is active
     */
    public static GradientStep open() {
        try {
            COLLECTING.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for another thread's gradient step");
        }
        try {
            return new GradientStep(Engine.getInstance().newGradientCollector());
        } catch (IllegalStateException e) {
            COLLECTING.unlock();
            throw new IllegalStateException(
                    "cannot collect gradients: another GradientCollector is open in this JVM (DJL's"
                            + " PyTorch engine allows one at a time across all threads, so calibration"
                            + " cannot run while a model trains): " + e.getMessage(),
                    e);
        } catch (RuntimeException | Error e) {
            COLLECTING.unlock();
            throw e;
        }
    }

    /**
     * Computes the gradients of {@code target} (summed over its elements) with respect to every
     * array that requires them; they add to any gradient already there.
     *
     * @param target the loss
     */
    public void backward(NDArray target) {
        collector.backward(target);
    }

    /** Closes the collector and releases the lock. */
    @Override
    public void close() {
        try {
            collector.close();
        } finally {
            COLLECTING.unlock();
        }
    }

    /**
     * {@code variable ← variable - update}, in place, outside autograd, on any thread: the update is
     * applied through a detached alias of the variable (same storage, no gradient), so it neither
     * depends on the thread's grad mode nor enters a graph.
     *
     * @param variable a learned array (may require a gradient)
     * @param update the amount to subtract, broadcastable to the variable
     */
    public static void subtractInPlace(NDArray variable, NDArray update) {
        try (NDArray alias = variable.stopGradient()) {
            alias.subi(update);
        }
    }
}
