import ArgumentParser
import Foundation
import Logging
import ProvisionerDomain
import ProvisionerStore

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the encryption keys of stored secrets.",
        subcommands: [Rewrap.self]
    )

    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-encrypt every stored secret and stored idempotent answer under the primary key (the first of PROVISIONER_ENCRYPTION_KEYS).",
            discussion: """
                Rotation: put the new key first in PROVISIONER_ENCRYPTION_KEYS, keeping the old one after it; restart the \
                service; run this command; then remove the old key and restart again. It works in batches and can be \
                stopped and run again.
                """
        )

        @Option(help: "Rows per transaction.")
        var batchSize: Int = 500

        func run() async throws {
            guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be from 1 to 10000") }
            let environment = try loadEnvironment(need: .databaseAndKeys)
            _ = bootstrapObservability(environment)
            let logger = Logger(label: "provisioner.keys")
            let sealer = SecretSealer(keyring: try environment.requiredKeyring())
            let batchSize = batchSize
            let progress = try await withApplicationDatabase(environment, logger: logger) { database in
                try await SecretRewrapper(database: database, sealer: sealer).rewrapAll(batchSize: batchSize) { progress in
                    FileHandle.standardError.write(Data(
                        "rewrapped \(progress.rewrapped) files, \(progress.webhookSecretsRewrapped) webhook secrets and \(progress.answersRewrapped) idempotent answers so far\n".utf8
                    ))
                }
            }
            print("rewrapped \(progress.rewrapped) secrets, \(progress.webhookSecretsRewrapped) webhook secrets and \(progress.answersRewrapped) idempotent answers under key \(sealer.keyring.primaryKeyID)")
            if !progress.answersFailed.isEmpty {
                // Not a failure of the command: the answers expire within 24 hours, and a replay
                // that cannot be opened is only a replay that fails.
                FileHandle.standardError.write(Data(
                    "provisioner: \(progress.answersFailed.count) stored idempotent answers could not be opened with the configured keys; they expire within 24 hours\n".utf8
                ))
            }
            if !progress.webhookSecretsFailed.isEmpty {
                FileHandle.standardError.write(Data(
                    "provisioner: \(progress.webhookSecretsFailed.count) webhook secrets could not be opened with the configured keys (first endpoint: \(progress.webhookSecretsFailed[0])); keep the old key until they are rewrapped, or rotate those endpoints' secrets\n".utf8
                ))
            }
            if !progress.failed.isEmpty {
                FileHandle.standardError.write(Data(
                    "provisioner: \(progress.failed.count) secrets could not be opened with the configured keys (first: \(progress.failed[0])); keep the old key until they are rewrapped\n".utf8
                ))
            }
            if !progress.failed.isEmpty || !progress.webhookSecretsFailed.isEmpty {
                throw ExitCode(1)
            }
        }
    }
}
