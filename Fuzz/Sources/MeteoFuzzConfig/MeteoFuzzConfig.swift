import Foundation
import MeteoCore

// libFuzzer entry point for the configuration loader: a config file's bytes
// (`ConfigLayers.parseFile`) and, for inputs that are not a JSON object, one setting's text
// given as a flag (the first byte picks the key). Every input resolves into a configuration or
// is refused with a non-empty reason; anything else stops the fuzzer (fatalError), and so does
// a trap. The keys that name files (`config`, `places_file`) are left out: the fuzzer must not
// read the machine's files. See Fuzz/README.md.

@_cdecl("LLVMFuzzerTestOneInput")
public func meteoFuzzConfigTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    ConfigChecks.run(bytes)
    return 0
}

enum ConfigChecks {
    static let fileKeys: Set<String> = ["config", "places-file"]
    static let keys = MeteoConfiguration.keys.filter { !fileKeys.contains($0.name) }

    static func run(_ bytes: [UInt8]) {
        switch Result(catching: { () throws(MeteoError) in try ConfigLayers.parseFile(bytes, path: "fuzz.json") }) {
        case .success(var file):
            for key in MeteoConfiguration.keys where fileKeys.contains(key.name) { file[key.fileKey] = nil }
            check(ConfigLayers(file: file, filePath: "fuzz.json"), bytes)
        case .failure(let e):
            reason(e, "parseFile", bytes)
            guard let first = bytes.first else { return }
            let key = keys[Int(first) % keys.count]
            let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
            check(ConfigLayers(flags: [key.name: text]), bytes)
        }
    }

    static func check(_ layers: ConfigLayers, _ bytes: [UInt8]) {
        for key in MeteoConfiguration.keys { _ = layers.value(key) }
        switch Result(catching: { () throws(MeteoError) in try MeteoConfiguration.resolve(layers) }) {
        case .success: break
        case .failure(let e): reason(e, "resolve", bytes)
        }
    }

    static func reason(_ e: MeteoError, _ stage: String, _ bytes: [UInt8]) {
        guard !e.message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            fatalError("MeteoFuzzConfig invariant violated: \(stage) refused with an empty reason; input: \(String(decoding: bytes.prefix(300), as: UTF8.self))")
        }
    }
}
