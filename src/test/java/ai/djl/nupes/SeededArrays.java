package ai.djl.nupes;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;

import java.util.Random;

/**
 * Random arrays from {@link java.util.Random} with a fixed seed, so that no test depends on the
 * engine's unseeded generator (which array creation and block initialization use).
 */
public final class SeededArrays {

    private SeededArrays() {}

    /**
     * Normal values {@code N(0, std²)}.
     *
     * @param random the seeded source
     * @param count how many
     * @param std the standard deviation
     * @return the values
     */
    public static float[] gaussian(Random random, int count, float std) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) (random.nextGaussian() * std);
        }
        return v;
    }

    /**
     * A standard normal array.
     *
     * @param manager owns the array
     * @param seed the seed
     * @param shape the shape
     * @return the array
     */
    public static NDArray gaussian(NDManager manager, long seed, Shape shape) {
        return manager.create(gaussian(new Random(seed), Math.toIntExact(shape.size()), 1f), shape);
    }

    /**
     * Overwrites every initialized parameter of a block with seeded normal values: weights with
     * standard deviation {@code 1/√fan-in}, everything else 0.1.
     *
     * @param block an initialized block
     * @param seed the seed
     */
    public static void reinitialize(Block block, long seed) {
        Random random = new Random(seed);
        for (Pair<String, Parameter> p : block.getParameters()) {
            NDArray array = p.getValue().getArray();
            Shape shape = array.getShape();
            long fanIn = shape.dimension() > 1 ? shape.size() / shape.get(0) : 1;
            float std = p.getValue().getType() == Parameter.Type.WEIGHT ? (float) (1 / Math.sqrt(fanIn)) : 0.1f;
            array.set(gaussian(random, Math.toIntExact(shape.size()), std));
        }
    }
}
