/** The four Fashion-MNIST test models, their block factory, trainer and evaluation. */
package ai.djl.nupes.models;
