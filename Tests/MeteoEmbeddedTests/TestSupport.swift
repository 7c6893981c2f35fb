import Foundation
import Logging
import MeteoCore

let testLogger = Logger(label: "embedded-test")

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-embedded-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func message(_ i: Int, key: String? = nil) -> OutgoingMessage {
    OutgoingMessage(key: key ?? "k\(i % 7)", value: Array("m\(i)".utf8))
}

func sample(_ id: String, at seconds: Double, temperature: Double? = 10, region: String? = "EuropeW") -> Observation {
    Observation(placeID: id, name: "Place \(id)", country: "FR", region: region, latitude: 48.5, longitude: 7.7,
                observedAt: Date(timeIntervalSince1970: seconds), source: "test", temperatureC: temperature,
                humidityPct: 80, pressureHPa: 1012.5, windSpeedMS: 3)
}
