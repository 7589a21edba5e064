/** The local model zoo of test models, float and frozen, registered through ServiceLoader. */
package ai.djl.nupes.zoo;
