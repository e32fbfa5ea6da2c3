/**
 * What a panel says about its own speed, on `document.body.dataset` for tests, benchmarks and users'
 * scripts: the longest main-thread task seen (`longestTaskMs`, from `longtask` entries), the bytes of
 * data it was sent (`bytesReceived`: typed arrays and strings of every message), and when its data came
 * and when it was drawn (`receivedAt`, `readyAt`, epoch milliseconds).
 */

export function watchLongTasks(): void {
  if (typeof PerformanceObserver === 'undefined' || !PerformanceObserver.supportedEntryTypes?.includes('longtask')) return;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration > Number(document.body.dataset.longestTaskMs ?? 0)) document.body.dataset.longestTaskMs = e.duration.toFixed(0);
    }
  }).observe({ type: 'longtask', buffered: true });
}

/** The bytes of a message's typed arrays and strings (2 a character), walked without recursion limits. */
export function messageBytes(x: unknown): number {
  let bytes = 0;
  const stack: unknown[] = [x];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') bytes += 2 * v.length;
    else if (ArrayBuffer.isView(v)) bytes += v.byteLength;
    else if (v instanceof ArrayBuffer) bytes += v.byteLength;
    else if (v && typeof v === 'object') for (const c of Object.values(v)) stack.push(c);
    else if (typeof v === 'number') bytes += 8;
  }
  return bytes;
}

export function countReceived(x: unknown): void {
  document.body.dataset.bytesReceived = String(Number(document.body.dataset.bytesReceived ?? 0) + messageBytes(x));
}

export function markTime(name: 'receivedAt' | 'readyAt'): void {
  document.body.dataset[name] = (performance.timeOrigin + performance.now()).toFixed(0);
}
