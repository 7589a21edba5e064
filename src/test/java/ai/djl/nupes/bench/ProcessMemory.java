package ai.djl.nupes.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;

/** The process's peak resident memory, as the benches report it. */
public final class ProcessMemory {

    private ProcessMemory() {}

    /**
     * The JVM process's peak resident set size so far ({@code VmHWM} of {@code /proc/self/status}).
     *
     * @return MB, or NaN where unreadable
     */
    public static double peakRssMb() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
