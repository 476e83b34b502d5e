/* Loomworks chat bubble: a floating button that opens the app's web chat in a panel.
   Configure with window.loomworksChatbotConfig = { token: "<site code>", baseUrl: "<server origin>" }. */
(function () {
  var config = window.loomworksChatbotConfig || {};
  if (!config.token) {
    console.error("loomworksChatbotConfig.token is missing");
    return;
  }
  var base = (config.baseUrl || "").replace(/\/$/, "");
  var id = "loomworks-chatbot";
  if (document.getElementById(id + "-button")) return;
  var button = document.createElement("button");
  button.id = id + "-button";
  button.type = "button";
  button.setAttribute("aria-label", "Chat");
  button.textContent = "\uD83D\uDCAC";
  button.style.cssText =
    "position:fixed;right:20px;bottom:20px;width:52px;height:52px;border-radius:26px;border:0;" +
    "background:" + (config.color || "#155EEF") + ";color:#fff;font-size:24px;cursor:pointer;" +
    "box-shadow:0 8px 24px rgba(16,24,40,.25);z-index:2147483646";
  var frame = null;
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.id = id + "-window";
      frame.src = base + "/chat/" + encodeURIComponent(config.token);
      frame.title = "Chat";
      frame.allow = "microphone";
      frame.style.cssText =
        "position:fixed;right:20px;bottom:84px;width:min(400px,calc(100vw - 40px));height:min(640px,calc(100vh - 120px));" +
        "border:1px solid #e4e7ec;border-radius:14px;box-shadow:0 12px 32px rgba(16,24,40,.2);background:#fff;z-index:2147483647";
      document.body.appendChild(frame);
      return;
    }
    frame.style.display = frame.style.display === "none" ? "block" : "none";
  });
  document.body.appendChild(button);
})();
