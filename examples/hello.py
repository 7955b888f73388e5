from kettle import App
app = App()

@app.get("/")
def index():
    return "Hello, World!"
