/*
 * Partners API: an application form on your own site (GET /embed.js).
 *
 *   <script src="https://partners.example.com/embed.js" data-form="partners-2027" async></script>
 *
 * Puts an iframe of the hosted form (/apply/{data-form}?embed=1) right after the tag and keeps it
 * as tall as the form, from the {type: "partneros:resize", height} messages that page posts.
 * Optional attributes:
 *   data-ref     an affiliate link's slug (else the ?ref= of the page itself is passed on)
 *   data-title   the iframe's accessible title (default "Partner application form")
 *   data-height  the height in pixels until the form reports its own (default 480)
 * Any number of tags may share a page. The script adds nothing but the iframe: no inline style
 * attributes (sizes are set through the CSSOM), no globals, no cookies.
 */
(function () {
  "use strict";

  var RESIZE = "partneros:resize";
  var HANDLED = "data-partneros-embed";
  var MAX_HEIGHT = 100000;

  function embed(script) {
    script.setAttribute(HANDLED, "");
    var slug = (script.getAttribute("data-form") || "").trim();
    var parent = script.parentNode;
    if (!slug || !parent || parent === document.head) {
      if (window.console) {
        window.console.warn("embed.js: put the tag inside <body> and name the form's slug in data-form");
      }
      return;
    }
    // The service is wherever this script came from; only that origin may size the iframe.
    var service = new URL(script.src, document.baseURI);
    var page = new URL("apply/" + encodeURIComponent(slug), service);
    page.searchParams.set("embed", "1");
    var ref = (script.getAttribute("data-ref") ||
      new URLSearchParams(window.location.search).get("ref") || "").trim();
    if (ref) page.searchParams.set("ref", ref);

    var frame = document.createElement("iframe");
    frame.src = page.href;
    frame.title = script.getAttribute("data-title") || "Partner application form";
    frame.setAttribute("data-partneros-form", slug);
    var initial = parseInt(script.getAttribute("data-height") || "", 10);
    frame.style.display = "block";
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.height = (initial > 0 ? initial : 480) + "px";
    parent.insertBefore(frame, script.nextSibling);

    window.addEventListener("message", function (event) {
      // The right origin is not enough: another iframe of the service on this page (another
      // embed) reports its own height. Only this iframe's window speaks for it.
      if (event.origin !== service.origin || event.source !== frame.contentWindow) return;
      var data = event.data;
      if (!data || data.type !== RESIZE) return;
      var height = data.height;
      if (typeof height !== "number" || !(height >= 0)) return;
      frame.style.height = Math.ceil(Math.min(height, MAX_HEIGHT)) + "px";
    });
  }

  // Each tag runs the script once; every run also picks up tags that a browser without
  // document.currentScript left behind.
  var scripts = document.querySelectorAll("script[data-form]:not([" + HANDLED + "])");
  for (var i = 0; i < scripts.length; i++) {
    var src = scripts[i].src;
    if (src && /\/embed\.js(?:[?#]|$)/.test(src)) embed(scripts[i]);
  }
})();
