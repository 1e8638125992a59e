import CoreMetrics
import Prometheus

/// The process-wide metrics backend: swift-metrics onto swift-prometheus's registry, which `[metrics]` serves.
/// swift-metrics can be bootstrapped once per process, so the executable does it before anything counts.
public enum NodeMetrics {
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
