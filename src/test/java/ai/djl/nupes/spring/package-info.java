/**
 * A Spring Boot example service: classification and sentence embeddings with frozen NUPES models,
 * quantization on a request thread.
 */
package ai.djl.nupes.spring;
