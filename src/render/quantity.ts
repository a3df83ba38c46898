// Kubernetes resource quantities (500m, 128Mi, 1e3) as numbers, for the places that
// must say them in another system's units (the Compose export).

const SCALE: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value of a validated quantity: "500m" is 0.5, "128Mi" is 134217728, "1e3" is 1000. */
export function quantityValue(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const [, number, suffix] = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/.exec(quantity) ?? [];
  if (number === undefined || suffix === undefined) throw new Error(`not a quantity: ${JSON.stringify(quantity)}`);
  if (/^[eE]/.test(suffix)) return Number(`${number}${suffix}`);
  const scale = SCALE[suffix];
  if (scale === undefined) throw new Error(`not a quantity: ${JSON.stringify(quantity)}`);
  return Number(number) * scale;
}

const BINARY_UNITS: [string, number][] = [
  ['g', 2 ** 30],
  ['m', 2 ** 20],
  ['k', 2 ** 10],
];

/** Bytes as Docker writes them: 64m for 64Mi, 1g for 1Gi, a plain byte count when no binary unit divides it. */
export function dockerBytes(quantity: string | number): string {
  const bytes = Math.ceil(quantityValue(quantity));
  const unit = BINARY_UNITS.find(([, size]) => bytes > 0 && bytes % size === 0);
  return unit ? `${bytes / unit[1]}${unit[0]}` : String(bytes);
}

/** CPU cores as Docker takes them: 0.05 for 50m, to the millicore. */
export const dockerCpus = (quantity: string | number): number => Math.round(quantityValue(quantity) * 1000) / 1000;
