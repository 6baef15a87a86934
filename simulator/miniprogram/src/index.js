// alipay-sim-miniprogram: run an Alipay mini-program page's own code (Page, my.getAuthCode,
// my.getPhoneNumber, my.getRunData, my.getSetting, my.request, my.alert and the getAuthorize
// button's events) against a running `alipay-sim serve`, and assert what the page did.

export { createRuntime, Runtime, LoadedPage, RuntimeError, PageError } from './runtime.js';
export { startSimulator, startMerchant, Simulator, ProcessError } from './processes.js';
export { findAuthorizeButtons, AxmlError } from './axml.js';
export { buildRequest, DEFAULT_HEADERS, DEFAULT_TIMEOUT_MS } from './request.js';
