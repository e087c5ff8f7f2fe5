import Foundation
import OpenAPIRuntime
import ProvisionerStore

/// Health, readiness, metrics and the OpenAPI document.
extension ServiceAPI {
    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        .ok(.init(body: .json(.init(status: .ok))))
    }

    func getReadiness(_ input: Operations.GetReadiness.Input) async throws -> Operations.GetReadiness.Output {
        switch await readiness.check() {
        case .ready:
            return .ok(.init(body: .json(.init(status: .ready))))
        case .databaseUnavailable:
            throw Problem.databaseUnavailable()
        case .migrationsMissing(let versions):
            throw Problem(
                .serviceUnavailable,
                code: .serviceUnavailable,
                detail: "The database lacks migrations \(versions.map(String.init).joined(separator: ", ")); run `provisioner migrate`.",
                headers: [.retryAfter: "5"]
            )
        }
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        metrics.emit(into: &buffer)
        return .ok(.init(body: .textPlainVersion_0_0_4(HTTPBody(buffer))))
    }

    func getOpenAPIDocument(_ input: Operations.GetOpenAPIDocument.Input) async throws -> Operations.GetOpenAPIDocument.Output {
        .ok(.init(body: .yaml(HTTPBody(PackageResources.openapi_yaml))))
    }
}
