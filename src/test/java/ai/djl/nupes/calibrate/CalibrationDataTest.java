package ai.djl.nupes.calibrate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;

import org.junit.jupiter.api.Test;

class CalibrationDataTest {

    private static float[] values(int n) {
        float[] v = new float[n * 3];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.25f;
        }
        return v;
    }

    private static ArrayDataset dataset(NDManager manager, int n, int batch) {
        NDArray x = manager.create(values(n), new Shape(n, 3));
        NDArray y = manager.zeros(new Shape(n));
        return new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(batch, false).build();
    }

    @Test
    void aDatasetSmallerThanTheRequestGivesAllItsSamplesInOrder() throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
                CalibrationData data = CalibrationData.of(dataset(manager, 10, 4), 32, manager)) {
            assertEquals(10, data.size());
            try (NDManager view = manager.newSubManager()) {
                assertArrayEquals(values(10), data.range(view, 0, 10).head().toFloatArray(), 0f);
            }
        }
    }

    @Test
    void aDatasetLargerThanTheRequestGivesItsFirstSamples() throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
                CalibrationData data = CalibrationData.of(dataset(manager, 10, 4), 6, manager)) {
            assertEquals(6, data.size());
            float[] first = java.util.Arrays.copyOf(values(10), 18);
            try (NDManager view = manager.newSubManager()) {
                assertArrayEquals(first, data.range(view, 0, 6).head().toFloatArray(), 0f);
            }
        }
    }
}
