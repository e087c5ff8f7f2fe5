import Foundation
import ProvisionerTestSupport

/// The code of the service as text, for the tests that check what no source may do: every line
/// of every Swift file under `Sources/`, trimmed, comment lines left out.
struct SourceLines {
    struct Line {
        let file: String
        let text: String
    }

    let lines: [Line]
    /// How many files were read (a test checks that the walk found the sources at all).
    let filesScanned: Int

    init() throws {
        let sources = URL(fileURLWithPath: TestDatabase.migrationsDirectory).deletingLastPathComponent().appendingPathComponent("Sources")
        guard let enumerator = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: sources.path])
        }
        var lines: [Line] = []
        var scanned = 0
        for case let file as URL in enumerator where file.pathExtension == "swift" {
            scanned += 1
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if !trimmed.hasPrefix("//") { lines.append(Line(file: file.lastPathComponent, text: trimmed)) }
            }
        }
        self.lines = lines
        self.filesScanned = scanned
    }
}
