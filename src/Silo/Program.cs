using LiveStream.Hosting;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddLiveStreamSilo();

var app = builder.Build();
app.MapLiveStreamHealth();
app.MapLiveStreamMetrics();
app.Run();
