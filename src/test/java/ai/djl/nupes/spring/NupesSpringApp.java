package ai.djl.nupes.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** The example service; it scans only its own package. */
@SpringBootApplication(scanBasePackages = "ai.djl.nupes.spring")
public class NupesSpringApp {

    /**
     * Starts the service; {@code --nupes.model-dir=<frozen model directory>} is required, {@code
     * --nupes.embedding-model-dir=<frozen text encoder directory>} adds {@code POST /embed}.
     *
     * @param args Spring Boot arguments
     */
    public static void main(String[] args) {
        SpringApplication.run(NupesSpringApp.class, args);
    }
}
