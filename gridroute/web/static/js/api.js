// The pages' one way to call /api/v1: JSON in and out, the session's CSRF token on writes,
// the page's language for the messages. A refusal rejects with the API's error object
// ({code, field, message, status, ...}) so a form can show it next to the field it names.
const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

export async function api(method, url, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", "Accept-Language": document.documentElement.lang,
                    ...extraHeaders };
  const options = { method, headers, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrf();
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || { code: "http_" + response.status,
                                            message: response.statusText };
    error.status = response.status;
    throw error;
  }
  return data;
}

// Show an API refusal next to the field it names (an element with data-error-for="field"),
// or in the form's general error box ([data-error-for=""]).
export function showError(form, error) {
  form.querySelectorAll("[data-error-for]").forEach((el) => { el.textContent = ""; });
  const slot = form.querySelector(`[data-error-for="${error.field || ""}"]`)
            || form.querySelector('[data-error-for=""]');
  if (slot) slot.textContent = error.message;
  const input = error.field && form.querySelector(`[name="${error.field}"]`);
  if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
}
