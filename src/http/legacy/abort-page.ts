/** GET /abort: a plain page the Android SDKs watch for. Static, so it is rendered once. */
const ABORT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Payment aborted</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}</style>
</head>
<body><main><h1>Payment aborted</h1><p>The payment was aborted. No money was taken. You may close this page and return to the shop.</p>
<p lang="bn">পেমেন্ট বাতিল করা হয়েছে। কোনো টাকা কাটা হয়নি।</p></main></body>
</html>`;

/** Blocks every script; the page's one inline <style> needs style-src 'unsafe-inline' (styles only, never script). */
export const ABORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

export const renderAbortPage = (): string => ABORT_PAGE;
