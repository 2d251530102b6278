// A customer's phone for the browser flows: what the Android service-desk SDK sends
// (wire spec §4.1), one device id per customer, over plain HTTP to the server.

/** A CreateComment from ``device``; the command's result (ticket_id, comment_id). */
export async function phoneSays(base, appId, device, text, author = "Dana Customer", newTicket = false) {
  const body = {
    app_id: appId, instance_id: device, version: 2, need_full_info: true,
    author_name: author, api_sign: "AAAAAAAAAAAUAAs=", locale: "en-US",
    commands: [{
      command_id: crypto.randomUUID(), type: 0, app_id: appId,
      params: { __type: "CreateComment", request_new_ticket: newTicket, app_id: appId, comment: text },
    }],
  };
  const r = await fetch(`${base}/servicedeskapi/v1/gettickets`, {
    method: "POST", headers: { "Content-Type": "application/json; charset=utf-8" }, body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`gettickets ${r.status}`);
  return (await r.json()).commands_result[0];
}
