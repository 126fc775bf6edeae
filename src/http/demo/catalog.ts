/** The demo shop's products, priced in BDT minor units. */
export const DEMO_PRODUCTS = [
  { id: 'tea', name: 'Sylhet tea, 500 g', priceMinor: 45_000n },
  { id: 'kantha', name: 'Nakshi kantha quilt', priceMinor: 220_000n },
  { id: 'jamdani', name: 'Jamdani saree', priceMinor: 350_000n },
  { id: 'mango', name: 'Rajshahi mangoes, 5 kg', priceMinor: 120_050n },
] as const;

export type DemoLine = { id: string; name: string; quantity: number; priceMinor: bigint };
