package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.autograd.GradientStep;

/**
 * Adam on one learnable array. A gradient holding NaN or Inf is dropped (the step is skipped for this variable and counted), so no non-finite value ever reaches
 * the moments or the variable.
 *
 * <p>{@code m ← β1·m + (1-β1)·g; v ← β2·v + (1-β2)·g²; x ← x - lr·m̂/(√v̂ + ε)}, with bias
 * corrections {@code m̂ = m/(1-β1^t)}, {@code v̂ = v/(1-β2^t)}; β1 = 0.9, β2 = 0.999, ε = 1e-8. The
 * caller scales lr per step (a cosine schedule).
 */
final class Adam {

    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.999f;
    private static final float EPSILON = 1e-8f;

    /** When in the reconstruction a variable learns. */
    enum Phase {
        /** Every iteration, one cosine schedule over all of them. */
        ALL,
        /** The first {@link #EXPONENT_SHARE} of iterations (the grid phase), own cosine schedule. */
        GRID,
        /** The remaining iterations, with their own cosine schedule. */
        WEIGHTS;

        /** Share of the iterations given to the grid phase. */
        static final float EXPONENT_SHARE = 0.25f;

        /**
         * The learning-rate factor at an iteration: {@code (1 + cos(π·t/T))/2} over the phase's
         * iterations, 0 outside them.
         */
        float rateFactor(int iteration, int iterations) {
            int split = Math.round(EXPONENT_SHARE * iterations);
            int from = this == WEIGHTS ? split : 0;
            int to = this == GRID ? split : iterations;
            if (iteration < from || iteration >= to) {
                return 0f;
            }
            return (float) (0.5 * (1 + Math.cos(Math.PI * (iteration - from) / (to - from))));
        }
    }

    private final NDArray variable;
    private final Phase phase;
    private final NDArray firstMoment;
    private final NDArray secondMoment;
    private final float learningRate;
    private int steps;
    private int skipped;

    Adam(NDArray variable, float learningRate) {
        this(variable, learningRate, Phase.ALL);
    }

    Adam(NDArray variable, float learningRate, Phase phase) {
        this.variable = variable;
        this.phase = phase;
        this.learningRate = learningRate;
        this.firstMoment = variable.zerosLike();
        this.secondMoment = variable.zerosLike();
        variable.setRequiresGradient(true);
    }

    /** Arrays the step manager must temporarily own so that temporaries die with the step. */
    NDArray[] arrays() {
        return new NDArray[] {variable, firstMoment, secondMoment};
    }

    /**
     * Applies one update from the variable's gradient, then zeroes the gradient. Call outside the
     * gradient collector, with {@link #arrays()} temporarily attached to {@code step}.
     *
     * @param step the step's manager
     * @param iteration the iteration, 0-based
     * @param iterations the total
     */
    void step(NDManager step, int iteration, int iterations) {
        float rateFactor = phase.rateFactor(iteration, iterations);
        if (!(learningRate > 0 && rateFactor > 0)) {
            return; // not learning now: the variable was held out of the graph
        }
        NDArray grad = variable.getGradient();
        grad.attach(step);
        {
            // one reduction: the sum is finite only if every element is (or it overflowed, also refused)
            if (Float.isFinite(grad.sum().getFloat())) {
                steps++;
                firstMoment.muli(BETA1).addi(grad.mul(1 - BETA1));
                secondMoment.muli(BETA2).addi(grad.square().mul(1 - BETA2));
                double c1 = 1 - Math.pow(BETA1, steps);
                double c2 = 1 - Math.pow(BETA2, steps);
                NDArray update =
                        firstMoment.div(c1).div(secondMoment.div(c2).sqrt().add(EPSILON)).mul(learningRate * rateFactor);
                GradientStep.subtractInPlace(variable, update);
            } else {
                skipped++;
            }
        }
        grad.subi(grad); // gradients accumulate across collectors: reset for the next step
    }

    /**
     * Whether the variable learns at an iteration; when not, callers keep it out of the graph.
     *
     * @param iteration the iteration
     * @param iterations the total
     * @return true when it learns
     */
    boolean learnsAt(int iteration, int iterations) {
        return learningRate > 0 && phase.rateFactor(iteration, iterations) > 0;
    }

    /** Steps whose gradient was not finite. */
    int skipped() {
        return skipped;
    }

    NDArray variable() {
        return variable;
    }
}
