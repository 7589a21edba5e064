package ai.djl.nupes.quantizer;

/** Whether a quantizer statistic is shared by the whole tensor or kept per output channel. */
public enum Granularity {
    /** One value for the whole weight tensor. */
    PER_TENSOR,
    /** One value per output channel (the first weight axis). */
    PER_CHANNEL
}
