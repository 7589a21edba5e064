package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Adam on one learnable array, with the guard the issue asks for: a gradient holding NaN or Inf is
 * dropped (the step is skipped for this variable and counted), so no non-finite value ever reaches
 * the moments or the variable.
 *
 * <p>{@code m ← β1·m + (1-β1)·g; v ← β2·v + (1-β2)·g²; x ← x - lr·m̂/(√v̂ + ε)}, with bias
 * corrections {@code m̂ = m/(1-β1^t)}, {@code v̂ = v/(1-β2^t)}; β1 = 0.9, β2 = 0.999, ε = 1e-8.
 */
final class Adam {

    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.999f;
    private static final float EPSILON = 1e-8f;

    private final NDArray variable;
    private final NDArray firstMoment;
    private final NDArray secondMoment;
    private final float learningRate;
    private int steps;
    private int skipped;

    Adam(NDArray variable, float learningRate) {
        this.variable = variable;
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
     */
    void step(NDManager step) {
        NDArray grad = variable.getGradient();
        grad.attach(step);
        if (learningRate > 0) {
            // one reduction: the sum is finite only if every element is (or it overflowed, also refused)
            if (Float.isFinite(grad.sum().getFloat())) {
                steps++;
                firstMoment.muli(BETA1).addi(grad.mul(1 - BETA1));
                secondMoment.muli(BETA2).addi(grad.square().mul(1 - BETA2));
                double c1 = 1 - Math.pow(BETA1, steps);
                double c2 = 1 - Math.pow(BETA2, steps);
                NDArray update =
                        firstMoment.div(c1).div(secondMoment.div(c2).sqrt().add(EPSILON)).mul(learningRate);
                variable.subi(update);
            } else {
                skipped++;
            }
        }
        grad.subi(grad); // gradients accumulate across collectors: reset for the next step
    }

    /** Steps whose gradient was not finite. */
    int skipped() {
        return skipped;
    }

    NDArray variable() {
        return variable;
    }
}
