/**
 * The builds a bench compares, from an environment variable of the form
 * `label=/path/to/checkout,label2=/other/checkout`; undefined when it is unset
 * or empty (the bench then measures this checkout).
 */
export function checkoutVariants(variable: string): Array<{ label: string; root: string }> | undefined {
  const raw = process.env[variable]
  if (raw == null || raw === '') return undefined
  return raw.split(',').map((entry) => {
    const [label, root] = entry.split('=')
    if (label == null || root == null) throw new Error(`${variable}: bad entry ${entry}`)
    return { label, root }
  })
}
