/// What the bytes of a bus message are. The sink accepts all of them.
public enum PayloadFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Recognise the format from the JSON itself.
    case auto
    /// Meteo's versioned event (``EventCodec``).
    case event
    /// The original system's OpenWeatherMap `box/city` response (`{"cnt","list":[…]}`).
    case legacyOWM = "legacy-owm"
    /// One OpenWeatherMap current-weather object.
    case owmCurrent = "owm-current"

    public var description: String { rawValue }

    /// Decodes one message into observations. A payload that cannot be read at all throws;
    /// a payload with several cities (legacy box/city) returns one result per city.
    public func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(MeteoError) -> [Result<Observation, MeteoError>] {
        var strings = EventStrings()
        return try decode(bytes, strings: &strings)
    }

    /// ``decode(_:)``, reusing the strings of the events decoded before with the same `strings`
    /// (the sink keeps one per batch).
    public func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes, strings: inout EventStrings) throws(MeteoError) -> [Result<Observation, MeteoError>] {
        if self == .auto || self == .event, let fast = EventCodec.fastDecode(bytes, cache: &strings) { return [.success(fast)] }
        let json = try JSONValue.parse(bytes)
        let format: PayloadFormat
        if self == .auto {
            if json["v"] != nil { format = .event }
            else if json["list"] != nil { format = .legacyOWM }
            else if json["coord"] != nil { format = .owmCurrent }
            else {
                throw MeteoError(code: .malformedPayload,
                                 "unrecognised payload: neither a Meteo event (field 'v'), a box/city response (field 'list') nor an OpenWeatherMap object (field 'coord')")
            }
        } else {
            format = self
        }
        switch format {
        case .auto, .event:
            return [Result { () throws(MeteoError) in try EventCodec.decode(json) }]
        case .legacyOWM:
            return try OpenWeatherMapDecoder.decodeLegacyBox(json)
        case .owmCurrent:
            return [Result { () throws(MeteoError) in try OpenWeatherMapDecoder.decodeCity(json) }]
        }
    }
}
