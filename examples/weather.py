import httpx

from kettle import App, HTTPException, Settings


class WeatherSettings(Settings):
    weather_provider: str = "offline"  # KETTLE_WEATHER_PROVIDER=http fetches live data
    weather_url: str = "https://wttr.in/{city}?format=j1"


OFFLINE = {"london": (11.5, "Light rain"), "paris": (14.0, "Sunny"), "tokyo": (18.2, "Clear")}
settings = WeatherSettings.load()
app = App(settings=settings)


@app.get("/weather/<city>")
async def weather(city: str) -> dict[str, str | float]:
    if settings.weather_provider == "http":
        async with httpx.AsyncClient(timeout=5) as client:
            reply = await client.get(settings.weather_url.format(city=city))
        if reply.status_code != 200:
            raise HTTPException(502, f"The weather service answered {reply.status_code}.")
        now = reply.json()["current_condition"][0]
        temp, sky = float(now["temp_C"]), now["weatherDesc"][0]["value"]
    elif city.lower() in OFFLINE:
        temp, sky = OFFLINE[city.lower()]
    else:
        raise HTTPException(404, f"No offline weather for {city}; try {', '.join(OFFLINE)}.")
    return {"city": city, "temperature_c": temp, "sky": sky, "source": settings.weather_provider}
