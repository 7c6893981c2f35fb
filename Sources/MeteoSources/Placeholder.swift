import MeteoCore
