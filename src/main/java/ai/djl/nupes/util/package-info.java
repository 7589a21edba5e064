/** Small helpers shared by the stages: checksums. */
package ai.djl.nupes.util;
