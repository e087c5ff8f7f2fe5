// swift-tools-version: 6.1
// A separate package for libFuzzer, so that the sanitizer flags never reach the main
// package's build. Its ProvisionerDomain target is the real one: Sources/ProvisionerDomain
// here is a symlink to ../../Sources/ProvisionerDomain. Built and run by fuzz/run.sh
// (`make fuzz`):
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
import PackageDescription

let package = Package(
    name: "provisioner-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        .target(
            name: "ProvisionerDomain",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            resources: [.embedInCode("Resources/public_suffix_list.dat")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // Declares LLVMFuzzerRunDriver (see its header).
        .target(name: "FuzzerDriver"),
        .executableTarget(
            name: "ClientSecretsFuzz",
            dependencies: ["ProvisionerDomain", "FuzzerDriver"]
        ),
    ]
)
