/** A Spring Boot example service: classification with a frozen NUPES model, quantization on a request thread. */
package ai.djl.nupes.spring;
