import MeteoCore

/// The OpenAPI 3.1 description of the JSON API, served at `/openapi.json`. Written by hand,
/// next to the routes it describes (`API` in MeteoApp.swift), but for the schema of an
/// observation, which is ``ObservationSchema/jsonSchema``; a test checks that every route is
/// in it and that it parses.
enum OpenAPIDocument {
    static let json = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "Meteo API",
        "version": "1",
        "description": "Live weather observations of thousands of places. Units are in the field names: temperature_c (°C), humidity_pct (%), pressure_hpa (hPa), wind_speed_ms (m/s), wind_direction_deg (°), cloud_cover_pct (%), visibility_m (m), rain_mm and snow_mm (mm in the last hour). Times are ISO 8601 UTC. An absent value is null. A bad parameter gets 400 with {\"error\": \"what to fix\"}."
      },
      "paths": {
        "/api/places": {
          "get": {
            "summary": "The observed places, with the time of their latest observation",
            "parameters": [
              {"name": "region", "in": "query", "schema": {"type": "string"}, "description": "a region name such as EuropeW"},
              {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "part of the name (case and accents ignored), a place id, or any text that finds one place as `place` does (Paris,FR; 48.58,7.75)"}
            ],
            "responses": {
              "200": {"description": "places", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Places"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"}
            }
          }
        },
        "/api/observations": {
          "get": {
            "summary": "Observations, newest first, one page at a time",
            "parameters": [
              {"name": "place", "in": "query", "schema": {"type": "string"}, "description": "a place: an id (GeoNames, geo:48.5800,7.7500, a places file's), LAT,LON, a name, Name,CC or Name,CC,admin1, found in the configured places, the catalogue and the store (README: How lookups work)"},
              {"name": "region", "in": "query", "schema": {"type": "string"}},
              {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "observed at or after"},
              {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "observed before"},
              {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}},
              {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "next_cursor of the previous page"}
            ],
            "responses": {
              "200": {"description": "a page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ObservationPage"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "404": {"$ref": "#/components/responses/UnknownPlace"}
            }
          }
        },
        "/api/latest": {
          "get": {
            "summary": "The latest observation of every place",
            "parameters": [{"name": "region", "in": "query", "schema": {"type": "string"}}],
            "responses": {
              "200": {"description": "one observation per place (next_cursor is always null)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ObservationPage"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"}
            }
          }
        },
        "/api/analytics": {
          "get": {
            "summary": "Correlations, per-region and per-country statistics, rain and snow, time windows and extremes: the JSON of `meteo analyze --format json` (keys defined in docs/analytics.md)",
            "parameters": [
              {"name": "region", "in": "query", "schema": {"type": "string"}},
              {"name": "place", "in": "query", "schema": {"type": "string"}, "description": "a place: an id (GeoNames, geo:48.5800,7.7500, a places file's), LAT,LON, a name, Name,CC or Name,CC,admin1, found in the configured places, the catalogue and the store (README: How lookups work)"},
              {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
              {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
              {"name": "window", "in": "query", "schema": {"type": "string", "default": "1h"}, "description": "window width: seconds, or 15m, 1h, 1d"},
              {"name": "top", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 5}}
            ],
            "responses": {
              "200": {"description": "the report", "content": {"application/json": {"schema": {"type": "object"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "404": {"$ref": "#/components/responses/UnknownPlace"},
              "503": {"description": "two analyses are already running and this one is not cached: ask again after Retry-After seconds", "headers": {"Retry-After": {"schema": {"type": "integer"}}}, "content": {"application/json": {"schema": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}}
            }
          }
        },
        "/api/stream": {
          "get": {
            "summary": "Server-sent events: `latest` (an array of the observations that became a place's latest, each with marker_color) and `figures` (the key figures), sent within about a second of new data",
            "responses": {"200": {"description": "an event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}}
          }
        },
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "{\"status\": \"ok\"}"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (text format 0.0.4)", "responses": {"200": {"description": "metrics"}}}},
        "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
      },
      "components": {
        "responses": {
          "BadRequest": {"description": "a parameter is wrong, or a place name is ambiguous (the error lists the candidates)", "content": {"application/json": {"schema": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}},
          "UnknownPlace": {"description": "no source knows the place (the error suggests the closest names)", "content": {"application/json": {"schema": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}}
        },
        "schemas": {
          "Observation": \#(ObservationSchema.jsonSchema),
          "ObservationPage": {
            "type": "object",
            "required": ["count", "observations", "next_cursor"],
            "properties": {
              "count": {"type": "integer"},
              "observations": {"type": "array", "items": {"$ref": "#/components/schemas/Observation"}},
              "next_cursor": {"type": ["string", "null"]}
            }
          },
          "Places": {
            "type": "object",
            "required": ["count", "places"],
            "properties": {
              "count": {"type": "integer"},
              "places": {"type": "array", "items": {"type": "object", "properties": {
                "place_id": {"type": "string"}, "name": {"type": "string"}, "country": {"type": "string"},
                "region": {"type": ["string", "null"]}, "latitude": {"type": "number"}, "longitude": {"type": "number"},
                "last_observed_at": {"type": "string", "format": "date-time"}}}}
            }
          }
        }
      }
    }
    """#
}
